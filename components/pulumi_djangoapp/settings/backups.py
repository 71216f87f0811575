"""Backups of the in-cluster PostgreSQL: a nightly ``pg_dump`` uploaded to S3, and its restore.

One CronJob ``<app>-backup``. Its pod dumps and uploads in two containers sharing a volume:
``dump`` (the database's own image, so ``pg_dump``'s major version is the server's) writes a
custom-format archive, checks that ``pg_restore`` can read it to the end and only then renames it
into place; ``upload`` (the AWS CLI image, the only container with cloud credentials, its own
ServiceAccount and role) copies it to its final key in one ``aws s3 cp``. S3 shows an object only
once its PUT, or its multipart upload, has completed, so an interrupted upload never looks like a
backup and no temporary key or server-side move is needed (aws-cli v2's ``s3 mv`` between S3
locations reads the source's tags from 8 MiB on, ``customizations/s3/subscribers.py``
``SetTagsSubscriber``: the move needed ``s3:GetObjectTagging`` and failed without it). The
bucket's lifecycle aborts incomplete multipart uploads.

The shared volume is a generic ephemeral volume of the database's StorageClass (encrypted where
the database's is), sized like the database: the dump never lands on the node's root disk, whose
size (20 GiB on EKS managed nodes by default) would otherwise bound the database that can be
backed up.

Restore (``restore_job``): a Job that downloads one archive, restores it into a new database
(``<db>_restore_<stamp>``, with the archive's encoding and locale) and only when that succeeded
swaps the names in one transaction, keeping the previous database as ``<db>_before_<stamp>``. A
role without CREATEDB, a locale the server lacks or a failing restore stop before the live
database is touched (README "Backups and restore").
"""

from dataclasses import dataclass
from typing import Any, NotRequired, Optional, TypedDict

from . import schedules
from .checks import Problems, checked_bool, given_args, is_int

DEFAULT_SCHEDULE = "0 2 * * *"

DEFAULT_RETENTION_DAYS = 14


class BackupArgs(TypedDict):
    """Scheduled dumps of the in-cluster database to S3."""

    schedule: NotRequired[str]
    """Cron expression of the dump. Default: ``0 2 * * *``."""
    time_zone: NotRequired[str]
    """IANA time zone of the schedule. Default: ``Etc/UTC``."""
    retention_days: NotRequired[int]
    """Days a backup is kept before S3 expires it. Default: ``14``."""
    suspend: NotRequired[bool]
    """Stop scheduling dumps. Default: ``False``."""


@dataclass(frozen=True)
class BackupSettings:
    schedule: str
    time_zone: str
    retention_days: int
    suspend: bool


def normalise(
    problems: Problems, raw: Any, database_external: bool, uses_aws: bool
) -> Optional[BackupSettings]:
    raw = given_args(problems, raw, BackupArgs, "backups")
    if raw is None:
        return None
    if database_external:
        problems.add(
            "backups",
            dict(raw),
            "only applies to the in-cluster database: an existing server (or RDS) keeps backups of its own",
        )
    if not uses_aws:
        problems.add(
            "backups", dict(raw), "upload to S3: they need the aws-secrets-manager backend"
        )
    schedule = raw.get("schedule", DEFAULT_SCHEDULE)
    problem = schedules.cron_problem(schedule)
    if problem:
        problems.add("backups.schedule", schedule, problem)
    zone = raw.get("time_zone", schedules.DEFAULT_TIME_ZONE)
    problem = schedules.time_zone_problem(zone)
    if problem:
        problems.add("backups.time_zone", zone, problem)
    days = raw.get("retention_days", DEFAULT_RETENTION_DAYS)
    if not is_int(days) or not 1 <= days <= 3650:
        problems.add("backups.retention_days", days, "must be a number of days from 1 to 3650")
    suspend = checked_bool(problems, "backups.suspend", raw.get("suspend", False), False)
    return BackupSettings(
        schedule=schedule if isinstance(schedule, str) else DEFAULT_SCHEDULE,
        time_zone=zone if isinstance(zone, str) else schedules.DEFAULT_TIME_ZONE,
        retention_days=days if is_int(days) else DEFAULT_RETENTION_DAYS,
        suspend=suspend is True,
    )

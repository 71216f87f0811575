"""The arguments of backups (``BackupArgs``): schedule, retention, time zone, suspension, and
what backups refuse (an external database, the kubernetes backend). What they build, and why, is
in ``builders/backups.py``."""

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

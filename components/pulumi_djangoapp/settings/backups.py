"""The arguments of backups (``BackupArgs``): schedule, retention, time zone, suspension, the
restore drill (``RestoreDrillArgs``), and what backups refuse (an external database, the
kubernetes backend). What they build, and why, is in ``builders/backups.py`` and
``builders/restore_drill.py``."""

from dataclasses import dataclass
from typing import Any, NotRequired, Optional, TypedDict

from . import schedules
from .checks import Problems, checked_bool, given_args, is_int

DEFAULT_SCHEDULE = "0 2 * * *"

DEFAULT_RETENTION_DAYS = 14

DEFAULT_DRILL_SCHEDULE = "30 4 * * *"

# A day and a half: last night's archive, with room for a late or slow dump.
DEFAULT_DRILL_MAX_ARCHIVE_AGE_HOURS = 36


class RestoreDrillArgs(TypedDict):
    """A scheduled restore of the newest archive into a scratch database, checked and dropped."""

    schedule: NotRequired[str]
    """Cron expression of the drill; after the dump's. Default: ``30 4 * * *``."""
    time_zone: NotRequired[str]
    """IANA time zone of the schedule. Default: the backups' ``time_zone``."""
    max_archive_age_hours: NotRequired[int]
    """The drill fails when the newest archive is older than this. Default: ``36``."""
    suspend: NotRequired[bool]
    """Stop scheduling drills. Default: ``False``."""


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
    restore_drill: NotRequired[RestoreDrillArgs]
    """Restore the newest archive into a scratch database on a schedule, check it, drop it
    (README "Restore drills"). Default: no drill."""


@dataclass(frozen=True)
class RestoreDrillSettings:
    schedule: str
    time_zone: str
    max_archive_age_hours: int
    suspend: bool


@dataclass(frozen=True)
class BackupSettings:
    schedule: str
    time_zone: str
    retention_days: int
    suspend: bool
    restore_drill: Optional[RestoreDrillSettings] = None


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
    zone = zone if isinstance(zone, str) else schedules.DEFAULT_TIME_ZONE
    return BackupSettings(
        schedule=schedule if isinstance(schedule, str) else DEFAULT_SCHEDULE,
        time_zone=zone,
        retention_days=days if is_int(days) else DEFAULT_RETENTION_DAYS,
        suspend=suspend is True,
        restore_drill=normalise_restore_drill(problems, raw.get("restore_drill"), zone),
    )


def normalise_restore_drill(
    problems: Problems, raw: Any, backup_time_zone: str
) -> Optional[RestoreDrillSettings]:
    field = "backups.restore_drill"
    raw = given_args(problems, raw, RestoreDrillArgs, field)
    if raw is None:
        return None
    schedule = raw.get("schedule", DEFAULT_DRILL_SCHEDULE)
    problem = schedules.cron_problem(schedule)
    if problem:
        problems.add(f"{field}.schedule", schedule, problem)
    zone = raw.get("time_zone", backup_time_zone)
    problem = schedules.time_zone_problem(zone)
    if problem:
        problems.add(f"{field}.time_zone", zone, problem)
    hours = raw.get("max_archive_age_hours", DEFAULT_DRILL_MAX_ARCHIVE_AGE_HOURS)
    if not is_int(hours) or not 1 <= hours <= 24 * 366:
        problems.add(
            f"{field}.max_archive_age_hours", hours, "must be a number of hours from 1 to 8784"
        )
    suspend = checked_bool(problems, f"{field}.suspend", raw.get("suspend", False), False)
    return RestoreDrillSettings(
        schedule=schedule if isinstance(schedule, str) else DEFAULT_DRILL_SCHEDULE,
        time_zone=zone if isinstance(zone, str) else backup_time_zone,
        max_archive_age_hours=hours if is_int(hours) else DEFAULT_DRILL_MAX_ARCHIVE_AGE_HOURS,
        suspend=suspend is True,
    )

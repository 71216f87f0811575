"""Backups of the in-cluster PostgreSQL: a nightly ``pg_dump`` uploaded to S3, and its restore.

One CronJob ``<app>-backup``. Its pod dumps and uploads in two containers sharing a disk volume
(an in-memory volume would spend the node's memory on the dump): ``dump`` (the database's own
image, so ``pg_dump``'s major version is the server's) writes a custom-format archive, checks
that ``pg_restore`` can read it to the end and only then renames it into place; ``upload`` (the
AWS CLI image, the only container with cloud credentials, its own ServiceAccount and role)
uploads it under ``incoming/`` and promotes it by a server-side move. A failed dump fails the pod
before anything is uploaded; an interrupted upload leaves at most an object under ``incoming/``,
which expires after a day and is never listed as a backup.

Restore (``restore_job``): a Job that downloads one archive and runs
``pg_restore --clean --if-exists --create --exit-on-error`` against the maintenance database,
after every writer is scaled to zero (README "Backups and restore").
"""

from dataclasses import dataclass
from typing import Any, NotRequired, Optional, TypedDict

from . import schedules
from .validation import Problems, given_args, is_int

DEFAULT_SCHEDULE = "0 2 * * *"
DEFAULT_RETENTION_DAYS = 14
DUMP_DIR = "/backup"
DUMP_FILE = "dump"
PASSWORD_DIR = "/run/secrets/postgres"
INCOMING = "incoming"
# Days an abandoned upload under incoming/ is kept.
INCOMING_DAYS = 1
DUMP_RESOURCES_BASE = {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}}
UPLOAD_RESOURCES = {"requests": {"cpu": "50m", "memory": "96Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}}
# A dump that takes longer than this is stopped (and retried by the next schedule).
DEADLINE_SECONDS = 4 * 3600

DUMP_SCRIPT = """\
set -eu
rm -f "$DUMP_DIR/dump.partial" "$DUMP_DIR/dump"
PGPASSWORD="$(cat "$PGPASSWORD_FILE")" pg_dump --format=custom --no-password --file "$DUMP_DIR/dump.partial"
# The archive must be readable to its end before it counts as a dump.
pg_restore --list "$DUMP_DIR/dump.partial" > /dev/null
mv "$DUMP_DIR/dump.partial" "$DUMP_DIR/dump"
echo "dump: $(wc -c < "$DUMP_DIR/dump") bytes of $PGDATABASE"
"""

UPLOAD_SCRIPT = """\
set -eu
if [ ! -s "$DUMP_DIR/dump" ]; then
  echo "upload: no complete dump in $DUMP_DIR; nothing uploaded" >&2
  exit 1
fi
stamp=$(date -u +%Y%m%dT%H%M%SZ)
incoming="s3://$BACKUP_BUCKET/$BACKUP_PREFIX/incoming/$stamp.dump"
final="s3://$BACKUP_BUCKET/$BACKUP_PREFIX/$stamp.dump"
aws s3 cp "$DUMP_DIR/dump" "$incoming" --only-show-errors
aws s3 mv "$incoming" "$final" --only-show-errors
echo "upload: $final"
"""

# Run in the restore Job: the chosen archive (or the newest) to the shared volume.
DOWNLOAD_SCRIPT = """\
set -eu
if [ -z "${BACKUP_KEY:-}" ]; then
  # The newest archive by its time-stamped name; never one still under incoming/.
  newest='sort_by((Contents || `[]`)[?!contains(Key, `"/incoming/"`)], &Key)[-1].Key'
  BACKUP_KEY=$(aws s3api list-objects-v2 --bucket "$BACKUP_BUCKET" --prefix "$BACKUP_PREFIX/" --query "$newest" --output text)
fi
case "$BACKUP_KEY" in
  "$BACKUP_PREFIX"/*.dump) ;;
  *) echo "download: no backup found under s3://$BACKUP_BUCKET/$BACKUP_PREFIX/" >&2; exit 1 ;;
esac
aws s3 cp "s3://$BACKUP_BUCKET/$BACKUP_KEY" "$DUMP_DIR/dump" --only-show-errors
echo "download: $BACKUP_KEY"
"""

RESTORE_SCRIPT = """\
set -eu
export PGPASSWORD="$(cat "$PGPASSWORD_FILE")"
# --create with --clean: drop the database and create it again from the archive, connected to
# the maintenance database; any error stops the restore.
pg_restore --clean --if-exists --create --exit-on-error --no-owner --role "$PGUSER" --dbname postgres "$DUMP_DIR/dump"
echo "restore: $PGDATABASE restored"
"""


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


def normalise(problems: Problems, raw: Any, database_external: bool, uses_aws: bool) -> Optional[BackupSettings]:
    raw = given_args(problems, raw, BackupArgs, "backups")
    if raw is None:
        return None
    if database_external:
        problems.add("backups", dict(raw), "only applies to the in-cluster database: an existing server (or RDS) keeps backups of its own")
    if not uses_aws:
        problems.add("backups", dict(raw), "upload to S3: they need the aws-secrets-manager backend")
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
    suspend = raw.get("suspend", False)
    if not isinstance(suspend, bool):
        problems.add("backups.suspend", suspend, "must be true or false")
    return BackupSettings(
        schedule=schedule if isinstance(schedule, str) else DEFAULT_SCHEDULE,
        time_zone=zone if isinstance(zone, str) else schedules.DEFAULT_TIME_ZONE,
        retention_days=days if is_int(days) else DEFAULT_RETENTION_DAYS,
        suspend=suspend is True,
    )


def name(app: str) -> str:
    return f"{app}-backup"


def prefix(namespace: str, app: str) -> str:
    return f"{namespace}/{app}/postgres"


def dump_resources(storage_size: str) -> dict:
    """The dump's disk is requested like memory: a node without room for a dump of the whole
    volume does not get the pod."""
    return {
        "requests": {**DUMP_RESOURCES_BASE["requests"], "ephemeral-storage": storage_size},
        "limits": {**DUMP_RESOURCES_BASE["limits"], "ephemeral-storage": storage_size},
    }

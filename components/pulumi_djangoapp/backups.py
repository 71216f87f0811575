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
from .validation import Problems, given_args, is_int

DEFAULT_SCHEDULE = "0 2 * * *"
DEFAULT_RETENTION_DAYS = 14
DUMP_DIR = "/backup"
DUMP_FILE = "dump"
PASSWORD_DIR = "/run/secrets/postgres"
# Versions before 0.3 uploaded under incoming/ first: what they left there expires after a day.
INCOMING = "incoming"
INCOMING_DAYS = 1
DUMP_RESOURCES = {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}}
UPLOAD_RESOURCES = {"requests": {"cpu": "50m", "memory": "96Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}}
# A dump that takes longer than this is stopped (and retried by the next schedule).
DEADLINE_SECONDS = 4 * 3600

# Reads the whole archive, every data block decompressed, as a restore would: `pg_restore --list`
# reads only the table of contents and passes an archive cut short (#27).
ARCHIVE_CHECK = 'pg_restore --file=/dev/null "$1"'

DUMP_SCRIPT = """\
set -eu
rm -f "$DUMP_DIR/dump.partial" "$DUMP_DIR/dump"
PGPASSWORD="$(cat "$PGPASSWORD_FILE")" pg_dump --format=custom --no-password --file "$DUMP_DIR/dump.partial"
# The archive must be readable to its end before it counts as a dump.
check_archive() { """ + ARCHIVE_CHECK + """; }
check_archive "$DUMP_DIR/dump.partial"
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
final="s3://$BACKUP_BUCKET/$BACKUP_PREFIX/$stamp.dump"
# One PUT or one multipart upload: the object exists only once it is complete.
aws s3 cp "$DUMP_DIR/dump" "$final" --only-show-errors
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
stamp=$(date -u +%Y%m%d%H%M%S)
# PostgreSQL names have at most 63 bytes: the database's first 40 characters and a suffix.
base=$(printf '%s' "$PGDATABASE" | cut -c1-40)
new="${base}_restore_$stamp"
old="${base}_before_$stamp"
# The archive's own encoding and locale: what "CREATE DATABASE <name> WITH ..." says in it.
options=$(pg_restore --create --schema-only --file=- "$DUMP_DIR/dump" | sed -n 's/^CREATE DATABASE [^ ]* WITH \\(.*\\);$/\\1/p')
case "$options" in
  "TEMPLATE = template0"*) ;;
  *) echo "restore: no CREATE DATABASE statement in the archive; nothing changed" >&2; exit 1 ;;
esac
sql() { psql --no-psqlrc --quiet --dbname postgres --set ON_ERROR_STOP=1 --set db="$PGDATABASE" --set new="$new" --set old="$old" --set options="$options" "$@"; }
# 1. A new database: no CREATEDB, or a locale this server lacks, stops here.
echo 'CREATE DATABASE :"new" WITH :options;' | sql || { echo "restore: cannot create $new; $PGDATABASE is unchanged" >&2; exit 1; }
# 2. The archive into it; any error stops the restore and removes the half-restored copy.
if ! pg_restore --exit-on-error --no-owner --role "$PGUSER" --dbname "$new" "$DUMP_DIR/dump"; then
  echo 'DROP DATABASE :"new";' | sql
  echo "restore: the archive did not restore; $PGDATABASE is unchanged" >&2
  exit 1
fi
# 3. Swap the names in one transaction; the previous database is kept.
sql <<'SQL' || { echo "restore: restored into $new, but the swap failed (is a writer still connected?); $PGDATABASE is unchanged" >&2; exit 1; }
SELECT EXISTS (SELECT FROM pg_database WHERE datname = :'db') AS live \\gset
BEGIN;
\\if :live
ALTER DATABASE :"db" RENAME TO :"old";
\\endif
ALTER DATABASE :"new" RENAME TO :"db";
COMMIT;
SQL
echo "restore: $PGDATABASE restored; the previous database, if any, is kept as $old"
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


def restore_account(app: str) -> str:
    """The restore Job's ServiceAccount: its role reads archives and can write none."""
    return f"{app}-restore"


def prefix(namespace: str, app: str) -> str:
    return f"{namespace}/{app}/postgres"


def dump_volume(storage_size: str, storage_class: Optional[str], volume_labels: dict) -> dict:
    """A claim of the database's class and size, made with the pod and deleted with it."""
    spec: dict = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": storage_size}}}
    if storage_class is not None:
        spec["storageClassName"] = storage_class
    return {"name": "dump", "ephemeral": {"volumeClaimTemplate": {"metadata": {"labels": volume_labels}, "spec": spec}}}

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

from __future__ import annotations

from typing import Any, Mapping, Optional

from ..settings import schedules as schedules_settings
from ..settings.app import Settings
from . import database, fetch, schedules, security, workload_identity
from .fetch import AwsRefs
from .labels import BACKUP, labels, metadata, selector_labels
from .secret_files import SECRET_FILE_MODE, credentials_secret_name
from .security import container, pod_security_context
from .workload_identity import SKIP_CONTAINERS_ANNOTATION

DUMP_DIR = "/backup"

PASSWORD_DIR = "/run/secrets/postgres"

# Versions before 0.3 uploaded under incoming/ first: what they left there expires after a day.
INCOMING = "incoming"

INCOMING_DAYS = 1

DUMP_RESOURCES = {
    "requests": {"cpu": "100m", "memory": "128Mi"},
    "limits": {"cpu": "1", "memory": "512Mi"},
}

UPLOAD_RESOURCES = {
    "requests": {"cpu": "50m", "memory": "96Mi"},
    "limits": {"cpu": "500m", "memory": "256Mi"},
}

# A dump that takes longer than this is stopped (and retried by the next schedule).
DEADLINE_SECONDS = 4 * 3600

# Reads the whole archive, every data block decompressed, as a restore would: `pg_restore --list`
# reads only the table of contents and passes an archive cut short (#27).
ARCHIVE_CHECK = 'pg_restore --file=/dev/null "$1"'

DUMP_SCRIPT = (
    """\
set -eu
rm -f "$DUMP_DIR/dump.partial" "$DUMP_DIR/dump"
PGPASSWORD="$(cat "$PGPASSWORD_FILE")" pg_dump --format=custom --no-password --file "$DUMP_DIR/dump.partial"
# The archive must be readable to its end before it counts as a dump.
check_archive() { """
    + ARCHIVE_CHECK
    + """; }
check_archive "$DUMP_DIR/dump.partial"
mv "$DUMP_DIR/dump.partial" "$DUMP_DIR/dump"
echo "dump: $(wc -c < "$DUMP_DIR/dump") bytes of $PGDATABASE"
"""
)

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
# Which archive it is, for the step that restores it (a drill reads its age from the name).
printf '%s' "$BACKUP_KEY" > "$DUMP_DIR/key"
echo "download: $BACKUP_KEY"
"""

# Sets $options to the archive's own encoding and locale: what "CREATE DATABASE <name> WITH ..."
# says in it, so a copy is created as the dumped database was.
ARCHIVE_OPTIONS = """\
options=$(pg_restore --create --schema-only --file=- "$DUMP_DIR/dump" | sed -n 's/^CREATE DATABASE [^ ]* WITH \\(.*\\);$/\\1/p')
case "$options" in
  "TEMPLATE = template0"*) ;;
  *) echo "$step: no CREATE DATABASE statement in the archive; nothing changed" >&2; exit 1 ;;
esac
"""

RESTORE_SCRIPT = (
    """\
set -eu
step=restore
export PGPASSWORD="$(cat "$PGPASSWORD_FILE")"
stamp=$(date -u +%Y%m%d%H%M%S)
# PostgreSQL names have at most 63 bytes: the database's first 40 characters and a suffix.
base=$(printf '%s' "$PGDATABASE" | cut -c1-40)
new="${base}_restore_$stamp"
old="${base}_before_$stamp"
"""
    + ARCHIVE_OPTIONS
    + """\
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
    spec: dict = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": storage_size}},
    }
    if storage_class is not None:
        spec["storageClassName"] = storage_class
    return {
        "name": "dump",
        "ephemeral": {"volumeClaimTemplate": {"metadata": {"labels": volume_labels}, "spec": spec}},
    }


def db_env(
    s: Settings,
    user: Optional[str] = None,
    dbname: Optional[str] = None,
    password_key: str = database.PASSWORD_KEY,
) -> list[dict]:
    """libpq's environment: the app's role on its database unless told otherwise."""
    db = s.database
    return [
        {"name": "PGHOST", "value": s.database_host},
        {"name": "PGPORT", "value": str(db.port)},
        {"name": "PGUSER", "value": user or db.username},
        {"name": "PGDATABASE", "value": dbname or db.database_name},
        {"name": "PGPASSWORD_FILE", "value": f"{PASSWORD_DIR}/{password_key}"},
        {"name": "DUMP_DIR", "value": DUMP_DIR},
    ]


def _db_mounts() -> list[dict]:
    return [
        {"name": "dump", "mountPath": DUMP_DIR},
        {"name": "password", "mountPath": PASSWORD_DIR, "readOnly": True},
        {"name": "tmp", "mountPath": "/tmp"},
    ]


def _cloud_env(s: Settings, refs: AwsRefs, key: Optional[str] = None) -> list[dict]:
    env = [
        {"name": "BACKUP_BUCKET", "value": refs.bucket},
        {"name": "BACKUP_PREFIX", "value": prefix(s.namespace, s.name)},
        {"name": "DUMP_DIR", "value": DUMP_DIR},
        *fetch.aws_env(s, refs),
    ]
    if key is not None:
        env.append({"name": "BACKUP_KEY", "value": key})
    return [
        {**e, "value": f"{s.name}-backup"} if e["name"] == "AWS_ROLE_SESSION_NAME" else e
        for e in env
    ]


def _cloud_mounts(s: Settings) -> list[dict]:
    assert s.aws is not None
    mounts = [
        {"name": "dump", "mountPath": DUMP_DIR},
        {"name": fetch.HOME_VOLUME, "mountPath": fetch.HOME_DIR},
    ]
    if s.aws.workload_identity:
        mounts.append({"name": fetch.TOKEN_VOLUME, "mountPath": fetch.TOKEN_DIR, "readOnly": True})
    return mounts


def password_volume(s: Settings, *keys: str) -> dict:
    """Only the named keys of the credentials Secret, as files under ``PASSWORD_DIR``."""
    return {
        "name": "password",
        "secret": {
            "secretName": credentials_secret_name(s),
            "defaultMode": SECRET_FILE_MODE,
            "items": [{"key": key, "path": key} for key in keys],
        },
    }


def _volumes(s: Settings, password_key: str) -> list[dict]:
    return [
        # Neither memory nor the node's root disk: a claim of the database's own class and size.
        dump_volume(s.database.storage_size, s.database.storage_class, labels(s.name, BACKUP)),
        password_volume(s, password_key),
        {"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": "16Mi"}},
        *fetch.volumes(s),
    ]


def pod(
    s: Settings,
    init: list[dict],
    main: dict,
    account: str,
    password_key: str = database.PASSWORD_KEY,
) -> dict:
    """A download or dump step, then the step after it, over one dump volume; the database
    password file is ``password_key``'s alone."""
    return {
        "serviceAccountName": account,
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": pod_security_context(s.run_as_user),
        "initContainers": init,
        "containers": [main],
        "volumes": _volumes(s, password_key),
        "restartPolicy": "Never",
    }


def postgres_container(
    s: Settings, name: str, script: str, env: Optional[list[dict]] = None
) -> dict:
    return container(
        name,
        s.database.image,
        s.image_pull_policy,
        s.run_as_user,
        command=["sh", "-c", script],
        env=env if env is not None else db_env(s),
        resources=DUMP_RESOURCES,
        volumeMounts=_db_mounts(),
    )


def cloud_container(
    s: Settings, refs: AwsRefs, name: str, script: str, key: Optional[str] = None
) -> dict:
    assert s.aws is not None
    return container(
        name,
        s.aws.cli_image,
        s.image_pull_policy,
        s.run_as_user,
        command=["sh", "-c", script],
        env=_cloud_env(s, refs, key),
        resources=UPLOAD_RESOURCES,
        volumeMounts=_cloud_mounts(s),
    )


def pod_metadata(s: Settings, database_steps: str = "dump,restore") -> dict:
    metadata: dict[str, Any] = {"labels": labels(s.name, BACKUP)}
    if s.aws is not None and s.aws.pod_identity:
        # The webhook would give the backup role to every container: only the S3 steps get it.
        metadata["annotations"] = {SKIP_CONTAINERS_ANNOTATION: database_steps}
    return metadata


def backup_pod_spec(s: Settings, refs: AwsRefs) -> dict:
    return pod(
        s,
        [postgres_container(s, "dump", DUMP_SCRIPT)],
        cloud_container(s, refs, "upload", UPLOAD_SCRIPT),
        name(s.name),
    )


def cron_job(s: Settings, refs: AwsRefs) -> dict:
    b = s.backups
    assert b is not None
    spec = schedules_settings.ScheduleSettings(
        name="backup", schedule=b.schedule, command=(), time_zone=b.time_zone, resources=None,
        deadline_seconds=DEADLINE_SECONDS, suspend=b.suspend,
    )  # fmt: skip
    return schedules.cron_job(
        spec,
        name(s.name),
        s.namespace,
        labels(s.name, BACKUP),
        pod_metadata(s),
        backup_pod_spec(s, refs),
    )


def restore_job(
    s: Settings, refs: AwsRefs, key: Optional[str] = None, job_name: Optional[str] = None
) -> dict:
    """Download ``key`` (default: the newest backup) and restore it over the database."""
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": job_name or f"{s.name}-restore",
            "namespace": s.namespace,
            "labels": labels(s.name, BACKUP),
        },
        "spec": {
            # A restore is run by a person, once: no automatic retry over a half-restored database.
            "backoffLimit": 0,
            "activeDeadlineSeconds": DEADLINE_SECONDS,
            "ttlSecondsAfterFinished": 86400,
            "template": {
                "metadata": pod_metadata(s),
                "spec": pod(
                    s,
                    [cloud_container(s, refs, "download", DOWNLOAD_SCRIPT, key)],
                    postgres_container(s, "restore", RESTORE_SCRIPT),
                    # Read-only: a restore (or a mistake in one) cannot overwrite an archive.
                    restore_account(s.name),
                ),
            },
        },
    }


def service_account(s: Settings) -> dict:
    return security.service_account(metadata(name(s.name), s.namespace, s.name, BACKUP))


def restore_service_account(s: Settings) -> dict:
    return security.service_account(metadata(restore_account(s.name), s.namespace, s.name, BACKUP))


def selector(s: Settings) -> Mapping[str, str]:
    return selector_labels(s.name, BACKUP)


def restore_access_policy(
    partition: str, bucket: str, backup_prefix: str, kms_key_arn: Optional[str]
) -> dict:
    """List and read archives under this app's backup prefix; nothing else, no write."""
    statements: list[dict] = [
        {
            "Sid": "ReadOwnBackups",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": f"arn:{partition}:s3:::{bucket}/{backup_prefix}/*",
        },
        {
            "Sid": "ListOwnBackups",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": f"arn:{partition}:s3:::{bucket}",
            "Condition": {"StringLike": {"s3:prefix": [f"{backup_prefix}/*"]}},
        },
    ]
    if kms_key_arn:
        statements.append(
            {
                "Sid": "DecryptWithAppKey",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": kms_key_arn,
                "Condition": workload_identity.kms_via(kms_key_arn, "s3"),
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


def access_policy(
    partition: str, bucket: str, backup_prefix: str, kms_key_arn: Optional[str]
) -> dict:
    """Write archives under this app's backup prefix (one PUT, or a multipart upload aborted on
    failure); nothing else: no read, no list, no delete, no tags (S3 expires old archives, and a
    restore reads through its own role)."""
    statements: list[dict] = [
        {
            "Sid": "WriteOwnBackups",
            "Effect": "Allow",
            "Action": ["s3:PutObject", "s3:AbortMultipartUpload"],
            "Resource": f"arn:{partition}:s3:::{bucket}/{backup_prefix}/*",
        },
    ]
    if kms_key_arn:
        statements.append(
            {
                "Sid": "EncryptWithAppKey",
                "Effect": "Allow",
                "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
                "Resource": kms_key_arn,
                "Condition": workload_identity.kms_via(kms_key_arn, "s3"),
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}

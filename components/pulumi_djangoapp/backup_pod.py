"""The backup CronJob and the restore Job: pure builders from ``Settings``.

Credentials: only ``upload`` (and the restore's ``download``) get the backup role, through the
``<app>-backup`` ServiceAccount's own projected token (web-identity) or the Pod Identity
association of that ServiceAccount with every other container skipped. ``dump`` and ``restore``
read the database password from the credentials Secret, nothing else.
"""

from typing import Any, Mapping, Optional

from . import backups, database, fetch, schedules, security
from .app_pod import SECRET_FILE_MODE, credentials_secret_name
from .fetch import AwsRefs
from .labels import BACKUP, labels, metadata, selector_labels
from .security import container, pod_security_context
from .settings import Settings
from . import workload_identity
from .workload_identity import SKIP_CONTAINERS_ANNOTATION

CLOUD_CONTAINERS = ("upload", "download")


def _db_env(s: Settings) -> list[dict]:
    db = s.database
    return [
        {"name": "PGHOST", "value": s.database_host},
        {"name": "PGPORT", "value": str(db.port)},
        {"name": "PGUSER", "value": db.username},
        {"name": "PGDATABASE", "value": db.database_name},
        {"name": "PGPASSWORD_FILE", "value": f"{backups.PASSWORD_DIR}/{database.PASSWORD_KEY}"},
        {"name": "DUMP_DIR", "value": backups.DUMP_DIR},
    ]


def _db_mounts() -> list[dict]:
    return [
        {"name": "dump", "mountPath": backups.DUMP_DIR},
        {"name": "password", "mountPath": backups.PASSWORD_DIR, "readOnly": True},
        {"name": "tmp", "mountPath": "/tmp"},
    ]


def _cloud_env(s: Settings, refs: AwsRefs, key: Optional[str] = None) -> list[dict]:
    env = [
        {"name": "BACKUP_BUCKET", "value": refs.bucket},
        {"name": "BACKUP_PREFIX", "value": backups.prefix(s.namespace, s.name)},
        {"name": "DUMP_DIR", "value": backups.DUMP_DIR},
        *fetch.aws_env(s, refs),
    ]
    if key is not None:
        env.append({"name": "BACKUP_KEY", "value": key})
    return [
        {**e, "value": f"{s.name}-backup"} if e["name"] == "AWS_ROLE_SESSION_NAME" else e for e in env
    ]


def _cloud_mounts(s: Settings) -> list[dict]:
    assert s.aws is not None
    mounts = [{"name": "dump", "mountPath": backups.DUMP_DIR}, {"name": fetch.HOME_VOLUME, "mountPath": fetch.HOME_DIR}]
    if s.aws.workload_identity:
        mounts.append({"name": fetch.TOKEN_VOLUME, "mountPath": fetch.TOKEN_DIR, "readOnly": True})
    return mounts


def _volumes(s: Settings) -> list[dict]:
    return [
        # Neither memory nor the node's root disk: a claim of the database's own class and size.
        backups.dump_volume(s.database.storage_size, s.database.storage_class, labels(s.name, BACKUP)),
        {
            "name": "password",
            "secret": {
                "secretName": credentials_secret_name(s),
                "defaultMode": SECRET_FILE_MODE,
                "items": [{"key": database.PASSWORD_KEY, "path": database.PASSWORD_KEY}],
            },
        },
        {"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": "16Mi"}},
        *fetch.volumes(s),
    ]


def _pod(s: Settings, init: list[dict], main: dict, account: str) -> dict:
    return {
        "serviceAccountName": account,
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": pod_security_context(s.run_as_user),
        "initContainers": init,
        "containers": [main],
        "volumes": _volumes(s),
        "restartPolicy": "Never",
    }


def _postgres_container(s: Settings, name: str, script: str) -> dict:
    return container(
        name,
        s.database.image,
        s.image_pull_policy,
        s.run_as_user,
        command=["sh", "-c", script],
        env=_db_env(s),
        resources=backups.DUMP_RESOURCES,
        volumeMounts=_db_mounts(),
    )


def _cloud_container(s: Settings, refs: AwsRefs, name: str, script: str, key: Optional[str] = None) -> dict:
    assert s.aws is not None
    return container(
        name,
        s.aws.cli_image,
        s.image_pull_policy,
        s.run_as_user,
        command=["sh", "-c", script],
        env=_cloud_env(s, refs, key),
        resources=backups.UPLOAD_RESOURCES,
        volumeMounts=_cloud_mounts(s),
    )


def _pod_metadata(s: Settings) -> dict:
    metadata: dict[str, Any] = {"labels": labels(s.name, BACKUP)}
    if s.aws is not None and s.aws.pod_identity:
        # The webhook would give the backup role to every container: only the S3 steps get it.
        metadata["annotations"] = {SKIP_CONTAINERS_ANNOTATION: "dump,restore"}
    return metadata


def backup_pod_spec(s: Settings, refs: AwsRefs) -> dict:
    return _pod(
        s, [_postgres_container(s, "dump", backups.DUMP_SCRIPT)], _cloud_container(s, refs, "upload", backups.UPLOAD_SCRIPT), backups.name(s.name)
    )


def cron_job(s: Settings, refs: AwsRefs) -> dict:
    b = s.backups
    assert b is not None
    spec = schedules.ScheduleSettings(
        name="backup", schedule=b.schedule, command=(), time_zone=b.time_zone, resources=None,
        deadline_seconds=backups.DEADLINE_SECONDS, suspend=b.suspend,
    )  # fmt: skip
    return schedules.cron_job(spec, backups.name(s.name), s.namespace, labels(s.name, BACKUP), _pod_metadata(s), backup_pod_spec(s, refs))


def restore_job(s: Settings, refs: AwsRefs, key: Optional[str] = None, job_name: Optional[str] = None) -> dict:
    """Download ``key`` (default: the newest backup) and restore it over the database."""
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": job_name or f"{s.name}-restore", "namespace": s.namespace, "labels": labels(s.name, BACKUP)},
        "spec": {
            # A restore is run by a person, once: no automatic retry over a half-restored database.
            "backoffLimit": 0,
            "activeDeadlineSeconds": backups.DEADLINE_SECONDS,
            "ttlSecondsAfterFinished": 86400,
            "template": {
                "metadata": _pod_metadata(s),
                "spec": _pod(
                    s,
                    [_cloud_container(s, refs, "download", backups.DOWNLOAD_SCRIPT, key)],
                    _postgres_container(s, "restore", backups.RESTORE_SCRIPT),
                    # Read-only: a restore (or a mistake in one) cannot overwrite an archive.
                    backups.restore_account(s.name),
                ),
            },
        },
    }


def service_account(s: Settings) -> dict:
    return security.service_account(metadata(backups.name(s.name), s.namespace, s.name, BACKUP))


def restore_service_account(s: Settings) -> dict:
    return security.service_account(metadata(backups.restore_account(s.name), s.namespace, s.name, BACKUP))


def selector(s: Settings) -> Mapping[str, str]:
    return selector_labels(s.name, BACKUP)


def restore_access_policy(partition: str, bucket: str, backup_prefix: str, kms_key_arn: Optional[str]) -> dict:
    """List and read archives under this app's backup prefix; nothing else, no write."""
    statements: list[dict] = [
        {"Sid": "ReadOwnBackups", "Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:{partition}:s3:::{bucket}/{backup_prefix}/*"},
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


def access_policy(partition: str, bucket: str, backup_prefix: str, kms_key_arn: Optional[str]) -> dict:
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

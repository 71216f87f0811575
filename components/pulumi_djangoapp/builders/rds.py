"""A PostgreSQL server on Amazon RDS: the instance's arguments, the role Job and its SQL (pure).

``database.provider: rds`` creates (``components/rds.py`` ``RdsDatabase``) a subnet group, a security
group admitting 5432 only from the given client security groups, a parameter group pinning
``rds.force_ssl``, and an encrypted, private, Multi-AZ-capable instance whose master password RDS
manages in Secrets Manager (``manage_master_user_password``: the component never sees it).

The app does not connect as the master user. A Job (``<app>-db-role``) runs before the
migrations: ``fetch-credentials`` (AWS CLI image; the only container with the ``<app>-db-admin``
role, which may read the master secret and the app's database secret and nothing else) writes
the master credentials, the app's generated password and the RDS CA bundle to an in-memory
volume; ``create-role`` (the PostgreSQL image; no cloud credentials) creates or updates the app's
role and database over TLS with ``verify-full``. The SQL is idempotent and written for the RDS
master, which is not a superuser: it has CREATEROLE and CREATEDB, and from PostgreSQL 16 a
CREATEROLE user holds only ADMIN OPTION on the roles it creates (no SET), so it grants itself
the app role before creating a database owned by it.

Every app pod's ``fetch-secrets`` step also downloads the CA bundle next to the secret files,
and the app's URL says ``sslmode=verify-full&sslrootcert=<that file>``: ``sslmode=require`` would
not check who answers.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import re
from typing import Any, Optional

from ..settings.app import Settings
from ..settings.rds import RdsSettings, checked_ca_bundle_url
from ..settings.secret_files import DATABASE_JSON
from . import fetch, security
from .fetch import DOWNLOAD_CA, AwsRefs
from .labels import DB_ADMIN, labels, metadata
from .migrations import REPLACE_UNREADY_ANNOTATION
from .security import container, pod_security_context
from .workload_identity import SKIP_CONTAINERS_ANNOTATION, kms_via

AUTOSCALING_OFF = 0

CA_FILE = "rds-ca.pem"


def ca_bundle_url(r: RdsSettings, region: Any) -> Any:
    if r.ca_bundle_url is not None:
        return r.ca_bundle_url
    if isinstance(region, str):
        return checked_ca_bundle_url(region)
    # A region only known once the provider answers: the same rule, once known.
    return region.apply(checked_ca_bundle_url)


def storage_autoscaling_ceiling(r: RdsSettings) -> int:
    """What the instance is sent: 0 (off) when the ceiling is the allocation."""
    return (
        AUTOSCALING_OFF
        if r.max_allocated_storage_gb == r.allocated_storage_gb
        else r.max_allocated_storage_gb
    )


def parameters() -> list[dict]:
    """Pinned even where it is the default: TLS must not depend on a default that once was 0."""
    return [
        {"name": "rds.force_ssl", "value": "1", "apply_method": "pending-reboot"},
        # Connections and DDL are logged; statements are not (ALTER ROLE carries a password).
        {"name": "log_connections", "value": "1", "apply_method": "immediate"},
        {"name": "log_statement", "value": "none", "apply_method": "immediate"},
    ]


def snapshot_identifier(app: str, suffix: str) -> str:
    """A final snapshot name RDS accepts (a letter first, no '--', no trailing '-'), unique per
    instance through ``suffix``."""
    base = re.sub("-+", "-", f"{app}-final-{suffix}").strip("-")
    return base if base[0].isalpha() else f"db-{base}"


def instance_args(
    r: RdsSettings,
    protect_data: bool,
    port: int,
    kms_key_arn: Optional[Any],
    final_snapshot: Any,
) -> dict:
    """The ``aws.rds.Instance`` arguments that do not name other resources."""
    args: dict = {
        "engine": "postgres",
        "engine_version": r.engine_version,
        "instance_class": r.instance_class,
        "port": port,
        "storage_type": "gp3",
        "allocated_storage": r.allocated_storage_gb,
        "max_allocated_storage": storage_autoscaling_ceiling(r),
        "storage_encrypted": True,
        "multi_az": r.multi_az,
        "publicly_accessible": False,
        "username": r.master_username,
        "manage_master_user_password": True,
        "backup_retention_period": r.backup_retention_days,
        "copy_tags_to_snapshot": True,
        "enabled_cloudwatch_logs_exports": list(r.log_exports),
        "performance_insights_enabled": r.performance_insights,
        "auto_minor_version_upgrade": True,
        # A major upgrade is a deliberate change (README): allowed only while it is made.
        "allow_major_version_upgrade": r.allow_major_version_upgrade,
        "apply_immediately": r.apply_immediately,
        "deletion_protection": protect_data,
        # Automated backups outlive the instance whenever data is protected.
        "delete_automated_backups": not protect_data,
        "skip_final_snapshot": not protect_data,
    }
    if protect_data:
        args["final_snapshot_identifier"] = final_snapshot
    if kms_key_arn is not None:
        args["kms_key_id"] = kms_key_arn
        args["master_user_secret_kms_key_id"] = kms_key_arn
        if r.performance_insights:
            args["performance_insights_kms_key_id"] = kms_key_arn
    return args


# PostgreSQL's own defaults for a SCRAM-SHA-256 verifier (scram_iterations, a 16-byte salt).
SCRAM_ITERATIONS = 4096

SCRAM_SALT_BYTES = 16

VERIFIER_KEY = "password_verifier"


def scram_sha256_verifier(password: str, salt: bytes, iterations: int = SCRAM_ITERATIONS) -> str:
    """``SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`` (RFC 5802, RFC 7677), the
    form PostgreSQL stores and accepts as given in ``ALTER ROLE ... PASSWORD``: the role Job never
    sends the password itself, so ``pg_stat_statements`` and a logged failing statement hold only
    the verifier. The generated password is ASCII letters and digits: SASLprep leaves it as is."""
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    stored_key = hashlib.sha256(hmac.new(salted, b"Client Key", "sha256").digest()).digest()
    server_key = hmac.new(salted, b"Server Key", "sha256").digest()

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


WORK_DIR = "/work"

ROLE_JOB_DEADLINE_SECONDS = 600

# Shared by fetch-credentials and every app pod's fetch-secrets: the bundle must be a PEM file
# before it replaces the previous one.

FETCH_CREDENTIALS_SCRIPT = (
    """\
set -eu
umask 077
"""
    + DOWNLOAD_CA
    + """\
master=$(aws secretsmanager get-secret-value --secret-id "$MASTER_SECRET_ID" --query SecretString --output text)
app=$(aws secretsmanager get-secret-value --secret-id "$DATABASE_SECRET_ID" --query SecretString --output text)
# -e: a missing key fails the step instead of writing "null".
printf '%s' "$master" | jq -ej .username > "$WORK_DIR/master-user"
printf '%s' "$master" | jq -ej .password > "$WORK_DIR/master-password"
printf '%s' "$app" | jq -ej .password_verifier > "$WORK_DIR/app-password-verifier"
download_ca "$CA_BUNDLE_URL" "$WORK_DIR/rds-ca.pem"
echo "fetch-credentials: master and app credentials and the CA bundle in $WORK_DIR"
"""
)

# psql variables: app_user, app_db; the password's SCRAM verifier (never the password: statements
# end up in pg_stat_statements and, when they fail, in the server log) is read from its file by
# psql itself, so it is never on a command line. Every statement may run again with the same
# result.
ROLE_SQL = r"""\set ON_ERROR_STOP on
\set app_password `cat "$WORK_DIR/app-password-verifier"`
SELECT format('CREATE ROLE %I LOGIN', :'app_user')
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'app_user') \gexec
ALTER ROLE :"app_user" WITH LOGIN NOCREATEDB NOCREATEROLE PASSWORD :'app_password';
\unset app_password
-- PostgreSQL 16+: the creator holds ADMIN OPTION only; owning a database needs SET ROLE.
-- (15 reports an existing membership as a notice; 16+ adds this grant beside the implicit one.)
GRANT :"app_user" TO CURRENT_USER;
SELECT format('CREATE DATABASE %I OWNER %I', :'app_db', :'app_user')
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'app_db') \gexec
ALTER DATABASE :"app_db" OWNER TO :"app_user";
REVOKE ALL ON DATABASE :"app_db" FROM PUBLIC;
"""

CREATE_ROLE_SCRIPT = (
    """\
set -eu
export PGUSER="$(cat "$WORK_DIR/master-user")"
export PGPASSWORD="$(cat "$WORK_DIR/master-password")"
export PGSSLMODE=verify-full PGSSLROOTCERT="$WORK_DIR/rds-ca.pem" PGDATABASE=postgres
psql --no-psqlrc --quiet --set app_user="$APP_USER" --set app_db="$APP_DB" --file - <<'SQL'
"""
    + ROLE_SQL
    + """\
SQL
echo "create-role: role $APP_USER owns database $APP_DB on $PGHOST"
"""
)


def admin_account(app: str) -> str:
    return f"{app}-db-admin"


def role_job_name(app: str) -> str:
    return f"{app}-db-role"


def access_policy(
    master_secret_arn: str, database_secret_arn: str, kms_key_arn: Optional[str]
) -> dict:
    """Read the master secret and the app's database secret; nothing else."""
    statements: list[dict] = [
        {
            "Sid": "ReadDatabaseCredentials",
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": [master_secret_arn, database_secret_arn],
        }
    ]
    if kms_key_arn:
        statements.append(
            {
                "Sid": "DecryptWithAppKey",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": kms_key_arn,
                "Condition": kms_via(kms_key_arn, "secretsmanager"),
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


def role_job_env(app_user: str, app_db: str, host: Any, port: int) -> list[dict]:
    return [
        {"name": "APP_USER", "value": app_user},
        {"name": "APP_DB", "value": app_db},
        {"name": "PGHOST", "value": host},
        {"name": "PGPORT", "value": str(port)},
        {"name": "WORK_DIR", "value": WORK_DIR},
    ]


RESOURCES = {
    "requests": {"cpu": "50m", "memory": "96Mi"},
    "limits": {"cpu": "500m", "memory": "256Mi"},
}

WORK_VOLUME = "work"


def _cloud_env(s: Settings, refs: AwsRefs) -> list[dict]:
    env = [
        {"name": "MASTER_SECRET_ID", "value": refs.master_secret_arn},
        {"name": DATABASE_JSON.secret_id_env, "value": refs.secret_ids[DATABASE_JSON.key]},
        {"name": "CA_BUNDLE_URL", "value": refs.ca_bundle_url},
        {"name": "WORK_DIR", "value": WORK_DIR},
        # The admin role, never the fetch role of the app's pods.
        *fetch.aws_env(s, dataclasses.replace(refs, role_arn=refs.db_admin_role_arn)),
    ]
    return [
        {**e, "value": admin_account(s.name)} if e["name"] == "AWS_ROLE_SESSION_NAME" else e
        for e in env
    ]


def fetch_credentials_container(s: Settings, refs: AwsRefs) -> dict:
    assert s.aws is not None
    mounts = [
        {"name": WORK_VOLUME, "mountPath": WORK_DIR},
        {"name": fetch.HOME_VOLUME, "mountPath": fetch.HOME_DIR},
    ]
    if s.aws.workload_identity:
        mounts.append({"name": fetch.TOKEN_VOLUME, "mountPath": fetch.TOKEN_DIR, "readOnly": True})
    return container(
        "fetch-credentials",
        s.aws.cli_image,
        s.image_pull_policy,
        s.run_as_user,
        command=["sh", "-c", FETCH_CREDENTIALS_SCRIPT],
        env=_cloud_env(s, refs),
        resources=RESOURCES,
        volumeMounts=mounts,
    )


def create_role_container(s: Settings, refs: AwsRefs) -> dict:
    db = s.database
    return container(
        "create-role",
        db.image,
        s.image_pull_policy,
        s.run_as_user,
        command=["sh", "-c", CREATE_ROLE_SCRIPT],
        env=role_job_env(db.username, db.database_name, refs.database_host, db.port),
        resources=RESOURCES,
        volumeMounts=[
            {"name": WORK_VOLUME, "mountPath": WORK_DIR, "readOnly": True},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
    )


def pod_spec(s: Settings, refs: AwsRefs) -> dict:
    return {
        "serviceAccountName": admin_account(s.name),
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": pod_security_context(s.run_as_user),
        "initContainers": [fetch_credentials_container(s, refs)],
        "containers": [create_role_container(s, refs)],
        "volumes": [
            # Memory: the master password never touches a disk.
            {"name": WORK_VOLUME, "emptyDir": {"medium": "Memory", "sizeLimit": "4Mi"}},
            {"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": "16Mi"}},
            *fetch.volumes(s),
        ],
        "restartPolicy": "Never",
    }


def role_job(s: Settings, refs: AwsRefs) -> dict:
    pod_labels = labels(s.name, DB_ADMIN)
    template_metadata: dict = {"labels": pod_labels}
    if s.aws is not None and s.aws.pod_identity:
        # The webhook would give the admin role to every container: only the fetch step gets it.
        template_metadata["annotations"] = {SKIP_CONTAINERS_ANNOTATION: "create-role"}
    return role_setup_job(
        s, role_job_name(s.name), pod_labels, template_metadata, pod_spec(s, refs)
    )


def role_setup_job(
    s: Settings, name: str, job_labels: dict, template_metadata: dict, spec: dict
) -> dict:
    """A Job that sets up a database role (the RDS app role, the restore drill's): a few retries
    within ``ROLE_JOB_DEADLINE_SECONDS``, replaced by the next ``up`` when it failed."""
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "namespace": s.namespace,
            "labels": job_labels,
            "annotations": {REPLACE_UNREADY_ANNOTATION: "true"},
        },
        "spec": {
            "backoffLimit": 3,
            "activeDeadlineSeconds": ROLE_JOB_DEADLINE_SECONDS,
            "template": {"metadata": template_metadata, "spec": spec},
        },
    }


def service_account(s: Settings) -> dict:
    return security.service_account(metadata(admin_account(s.name), s.namespace, s.name, DB_ADMIN))

"""Restore drills: last night's archive restored into a scratch database, read, and dropped.

A backup is only known to be good once it restored. The drill is a CronJob ``<app>-restore-drill``
whose pod is the restore Job's, pointed away from the live database:

- ``download`` (the AWS CLI image, the restore ServiceAccount and its read-only role) fetches the
  newest archive, as ``restore`` does, and notes its key;
- ``drill`` (the database's image, so ``pg_restore`` is the server's major version) connects as
  the **drill role**, never the app's: it fails when the archive is older than
  ``max_archive_age_hours`` (from its UTC name), creates ``<db>_drill_<stamp>`` with the archive's
  encoding and locale, restores with ``--exit-on-error --no-owner --no-privileges``, counts the
  rows of every table (each one must be readable; the count of tables must be the archive's), and
  drops the scratch database whatever happened (a trap on exit, TERM and INT; the next drill also
  drops what a killed one left).

The drill role (``<user>_drill``) is ``LOGIN CREATEDB NOSUPERUSER NOCREATEROLE``: it owns what it
creates and nothing else, and cannot connect to the live database, whose ``CONNECT`` the role Job
revokes from ``PUBLIC`` (the app's role owns the database and keeps it). The role Job
``<app>-drill-role`` connects as the app's role (the in-cluster server's superuser: the official
image runs ``initdb --username=$POSTGRES_USER``, docker-library/postgres ``docker-entrypoint.sh``
``docker_init_database_dir``) and sets the drill role's password by its SCRAM verifier, so no
statement holds the password (``pg_stat_statements``, the server log). Only that Job's pod reads
the app's password; the drill's pod reads the drill role's alone.

The scratch database lives on the live server: the database's volume needs room for a second copy
while the drill runs (README "Restore drills"). The CronJob's last success is what an alert reads:
kube-state-metrics' ``kube_cronjob_status_last_successful_time{cronjob="<app>-restore-drill"}``.
"""

from __future__ import annotations

import dataclasses

from ..settings import schedules as schedules_settings
from ..settings.app import Settings
from . import backups, database, rds, schedules
from .fetch import AwsRefs
from .labels import BACKUP, labels
from .security import container, pod_security_context

# Keys of the credentials Secret: the drill pod reads the password, the role Job the verifier.
PASSWORD_KEY = "drill-password"

VERIFIER_KEY = "drill-password-verifier"

ROLE_JOB_DEADLINE_SECONDS = rds.ROLE_JOB_DEADLINE_SECONDS

# Stop a drill that restores for longer than a dump may take.
DEADLINE_SECONDS = backups.DEADLINE_SECONDS


def name(app: str) -> str:
    return f"{app}-restore-drill"


def role_job_name(app: str) -> str:
    return f"{app}-drill-role"


def drill_role(s: Settings) -> str:
    """``<user>_drill``, within PostgreSQL's 63-byte names."""
    return f"{s.database.username[:57]}_drill"


# psql variables: drill_user, app_db; the verifier is read from its file by psql itself. Every
# statement may run again with the same result.
ROLE_SQL = r"""\set ON_ERROR_STOP on
\set verifier `cat "$VERIFIER_FILE"`
SELECT format('CREATE ROLE %I', :'drill_user')
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'drill_user') \gexec
ALTER ROLE :"drill_user" WITH LOGIN CREATEDB NOSUPERUSER NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD :'verifier';
\unset verifier
-- Only the owner (the app's role) connects to the live database: never the drill role.
REVOKE CONNECT, TEMPORARY ON DATABASE :"app_db" FROM PUBLIC;
"""

ROLE_SCRIPT = (
    """\
set -eu
export PGPASSWORD="$(cat "$PGPASSWORD_FILE")"
psql --no-psqlrc --quiet --set drill_user="$DRILL_USER" --set app_db="$APP_DB" --file - <<'SQL'
"""
    + ROLE_SQL
    + """\
SQL
echo "drill-role: $DRILL_USER may create scratch databases; $APP_DB admits its owner only"
"""
)

DRILL_SCRIPT = (
    """\
set -eu
step=drill
export PGPASSWORD="$(cat "$PGPASSWORD_FILE")"
key=$(cat "$DUMP_DIR/key")
# PostgreSQL names have at most 63 bytes: the database's first 40 characters and a suffix.
base=$(printf '%s' "$LIVE_DATABASE" | cut -c1-40)
scratch="${base}_drill_$(date -u +%Y%m%d%H%M%S)"
sql() { psql --no-psqlrc --quiet --dbname postgres --set ON_ERROR_STOP=1 --set scratch="$scratch" --set leftover="${base}_drill_" --set options="${options:-}" "$@"; }
# What a killed drill left: only the drill role's own scratch databases (it can drop no other).
echo "SELECT format('DROP DATABASE %I WITH (FORCE)', datname) FROM pg_database
  WHERE starts_with(datname, :'leftover') AND datdba = (SELECT oid FROM pg_roles WHERE rolname = current_user) \\gexec" | sql
# How old the archive is, from its name (<UTC stamp>.dump, as the upload step writes it).
taken=$(printf '%s' "${key##*/}" | sed -n 's/^\\([0-9]\\{4\\}\\)\\([0-9]\\{2\\}\\)\\([0-9]\\{2\\}\\)T\\([0-9]\\{2\\}\\)\\([0-9]\\{2\\}\\)\\([0-9]\\{2\\}\\)Z\\.dump$/\\1-\\2-\\3 \\4:\\5:\\6/p')
if [ -z "$taken" ]; then
  echo "drill: $key is not named <UTC stamp>.dump; nothing restored" >&2
  exit 1
fi
age_hours=$(( ($(date -u +%s) - $(date -u -d "$taken" +%s)) / 3600 ))
if [ "$age_hours" -gt "$MAX_ARCHIVE_AGE_HOURS" ]; then
  echo "drill: the newest archive, $key, is ${age_hours}h old (more than ${MAX_ARCHIVE_AGE_HOURS}h): are backups running? nothing restored" >&2
  exit 1
fi
"""
    + backups.ARCHIVE_OPTIONS
    + """\
# From here on the scratch database is dropped however the drill ends.
drop_scratch() { echo 'DROP DATABASE IF EXISTS :"scratch" WITH (FORCE);' | sql; }
finish() {
  status=$?
  trap - EXIT
  drop_scratch || { echo "drill: could not drop $scratch" >&2; status=1; }
  exit $status
}
trap finish EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
started=$(date -u +%s)
echo 'CREATE DATABASE :"scratch" WITH :options;' | sql
if ! pg_restore --exit-on-error --no-owner --no-privileges --dbname "$scratch" "$DUMP_DIR/dump"; then
  echo "drill: $key did not restore" >&2
  exit 1
fi
# Every table read to its end: a count each, in one session; an unreadable one stops the drill.
echo "SELECT format('SELECT %L, count(*) FROM %I.%I', n.nspname || '.' || c.relname, n.nspname, c.relname)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND n.nspname NOT LIKE 'pg\\_toast%'
  ORDER BY 1 \\gexec" | psql --no-psqlrc --quiet --dbname "$scratch" --set ON_ERROR_STOP=1 --tuples-only --no-align > "$DUMP_DIR/counts"
archived=$(pg_restore --list "$DUMP_DIR/dump" | awk '$4 == "TABLE" && $5 != "DATA" {n++} END {print n + 0}')
tables=$(grep -c . "$DUMP_DIR/counts" || true)
rows=$(awk -F'|' '{n += $NF} END {print n + 0}' "$DUMP_DIR/counts")
sed 's/^\\(.*\\)|\\([0-9]*\\)$/drill: \\1: \\2 rows/' "$DUMP_DIR/counts"
if [ "$tables" -eq 0 ] || [ "$tables" -ne "$archived" ]; then
  echo "drill: $key restored $tables tables of the $archived it lists" >&2
  exit 1
fi
echo "drill: $key (${age_hours}h old) restored and read in $(( $(date -u +%s) - started ))s: $tables tables, $rows rows; $scratch dropped"
"""
)


def in_cluster_role_job(
    s: Settings,
    job_name: str,
    step: str,
    script: str,
    env: list[dict],
    verifier_key: str,
    component: str,
) -> dict:
    """A Job that sets up a role of the in-cluster server as the app's role (its superuser):
    the only pod that reads the app's password, with the new role's verifier beside it."""
    pod_labels = labels(s.name, component)
    return rds.role_setup_job(
        s,
        job_name,
        pod_labels,
        {"labels": pod_labels},
        {
            # The database's own ServiceAccount: no cloud role, no token.
            "serviceAccountName": database.statefulset_name(s),
            "automountServiceAccountToken": False,
            "enableServiceLinks": False,
            "securityContext": pod_security_context(s.run_as_user),
            "containers": [
                container(
                    step,
                    s.database.image,
                    s.image_pull_policy,
                    s.run_as_user,
                    command=["sh", "-c", script],
                    env=[
                        *backups.db_env(s, dbname="postgres"),
                        *env,
                        {"name": "VERIFIER_FILE", "value": f"{backups.PASSWORD_DIR}/{verifier_key}"},
                    ],
                    resources=rds.RESOURCES,
                    volumeMounts=[
                        {"name": "password", "mountPath": backups.PASSWORD_DIR, "readOnly": True},
                        {"name": "tmp", "mountPath": "/tmp"},
                    ],
                )
            ],
            "volumes": [
                backups.password_volume(s, database.PASSWORD_KEY, verifier_key),
                {"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": "16Mi"}},
            ],
            "restartPolicy": "Never",
        },
    )  # fmt: skip


def role_job(s: Settings) -> dict:
    """Creates (or resets) the drill role and closes the live database to it; run by each up
    whose template changed, and again when a failed one is replaced."""
    return in_cluster_role_job(
        s, role_job_name(s.name), "drill-role", ROLE_SCRIPT,
        [
            {"name": "DRILL_USER", "value": drill_role(s)},
            {"name": "APP_DB", "value": s.database.database_name},
        ],
        VERIFIER_KEY, BACKUP,
    )  # fmt: skip


def _drill_env(s: Settings) -> list[dict]:
    d = s.backups.restore_drill if s.backups else None
    assert d is not None
    return [
        *backups.db_env(s, user=drill_role(s), dbname="postgres", password_key=PASSWORD_KEY),
        {"name": "LIVE_DATABASE", "value": s.database.database_name},
        {"name": "MAX_ARCHIVE_AGE_HOURS", "value": str(d.max_archive_age_hours)},
    ]


def pod_spec(s: Settings, refs: AwsRefs) -> dict:
    """``refs.role_arn`` is the restore role's: the download step reads archives, writes none."""
    return backups.pod(
        s,
        [backups.cloud_container(s, refs, "download", backups.DOWNLOAD_SCRIPT)],
        backups.postgres_container(s, "drill", DRILL_SCRIPT, _drill_env(s)),
        backups.restore_account(s.name),
        PASSWORD_KEY,
    )


def cron_job(s: Settings, refs: AwsRefs) -> dict:
    d = s.backups.restore_drill if s.backups else None
    assert d is not None
    spec = schedules_settings.ScheduleSettings(
        name="restore-drill", schedule=d.schedule, command=(), time_zone=d.time_zone,
        resources=None, deadline_seconds=DEADLINE_SECONDS, suspend=d.suspend,
    )  # fmt: skip
    job = schedules.cron_job(
        spec,
        name(s.name),
        s.namespace,
        labels(s.name, BACKUP),
        backups.pod_metadata(s, "drill"),
        pod_spec(s, refs),
    )
    # A failed drill is a finding, not a flake: one attempt, so its failure is reported at once.
    job["spec"]["jobTemplate"]["spec"]["backoffLimit"] = 0
    return job


def restore_refs(backup_refs: AwsRefs) -> AwsRefs:
    """The backup side's references with the restore role in place of the backup role."""
    assert backup_refs.restore_role_arn is not None
    return dataclasses.replace(backup_refs, role_arn=backup_refs.restore_role_arn)

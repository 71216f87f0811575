"""Migrations that run exactly once, however many pods start at the same time.

An init container runs once *per pod*, so two replicas run ``migrate`` concurrently and Django
takes no lock of its own. The migrate step therefore takes a session-level PostgreSQL advisory
lock *inside the Django process* that migrates (a lock taken by a separate ``psql`` would end with
that session), runs ``migrate``, and unlocks; the other pods wait on the lock and then find
nothing to do. In ``job`` mode one Job per release migrates and app pods only wait until
``migrate --check`` passes.
"""

from __future__ import annotations

import hashlib
import json

from ..settings.app import Settings
from ..settings.env import GATE_ENV
from . import deploy_check
from .fetch import credential_annotations
from .labels import labels
from .steps import app_step

MIGRATE = "migrate"

JOB_COMPONENT = "migrate"

# Run by `python manage.py shell -c`, so the app's own manage.py picks the settings module and
# the user's project needs no change. pg_try_advisory_lock in a loop (rather than the blocking
# pg_advisory_lock) lets the step print progress and give up at its deadline.
LOCKED_MIGRATE = """\
import os, sys, time
from django.core.management import call_command
from django.db import connection
key = int(os.environ["MIGRATION_LOCK_KEY"])
timeout = float(os.environ["MIGRATION_LOCK_TIMEOUT"])
deadline = time.monotonic() + timeout
with connection.cursor() as cursor:
    while True:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        if cursor.fetchone()[0]:
            break
        if time.monotonic() >= deadline:
            print(f"migrate: gave up after {timeout:.0f}s waiting for migration lock {key}; another pod is still migrating", file=sys.stderr, flush=True)
            sys.exit(1)
        print(f"migrate: another pod holds migration lock {key}; waiting", flush=True)
        time.sleep(1)
print(f"migrate: holding migration lock {key}", flush=True)
try:
    call_command("migrate", interactive=False)
finally:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
        if not cursor.fetchone()[0]:
            print("migrate: the lock was lost during migrate (connection reset?)", file=sys.stderr, flush=True)
"""

# The rollback gate (builders/release_gate.py), run by `manage.py shell -c` when ROLLBACK_GATE says
# so: in the migration Job before the deploy check, or in the release gate's own Job.
ROLLBACK_GATE = """\
import os, sys
if os.environ.get("ROLLBACK_GATE") == "refuse":
    from django.db import connections
    from django.db.migrations.loader import MigrationLoader
    loader = MigrationLoader(connections["default"], ignore_no_migrations=True)
    known = set(loader.disk_migrations)
    for migration in loader.disk_migrations.values():
        known.update(migration.replaces)
    unknown = sorted(m for m in loader.applied_migrations if m[0] in loader.migrated_apps and m not in known)
    if unknown:
        print("rollback-gate: the database has migrations this image does not know: " + ", ".join(f"{a}.{n}" for a, n in unknown), file=sys.stderr)
        print("rollback-gate: this image is older than the schema, so it does not start; deploy an image that has them, or (expand/contract: its code must work on this schema) set rollback_gate: false", file=sys.stderr, flush=True)
        sys.exit(4)
    print("rollback-gate: the image knows every applied migration", flush=True)
"""

WAIT_FOR_MIGRATIONS = """\
deadline=$(( $(date +%s) + MIGRATIONS_WAIT_TIMEOUT ))
until python manage.py migrate --check --noinput > /dev/null; do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "wait-for-migrations: migrations still unapplied after ${MIGRATIONS_WAIT_TIMEOUT}s; did the migration Job fail?" >&2
    exit 1
  fi
  echo "wait-for-migrations: unapplied migrations; waiting for the migration Job"
  sleep 3
done
echo "wait-for-migrations: every migration is applied"
"""


def migrate_command() -> list[str]:
    """The deploy check (the release gate; it skips itself when its env is absent), then the
    locked migrate, in one Django process. -v 0 quiets the shell command itself (Django 5.2
    announces its auto-imports), not migrate."""
    return [
        "python", "manage.py", "shell", "-v", "0", "-c",
        ROLLBACK_GATE + deploy_check.SCRIPT + LOCKED_MIGRATE,
    ]  # fmt: skip


def migrate_env(s: Settings) -> list[dict]:
    m = s.migrations
    return [
        {"name": "MIGRATION_LOCK_KEY", "value": str(m.lock_key)},
        {"name": "MIGRATION_LOCK_TIMEOUT", "value": str(m.lock_timeout_seconds)},
        *deploy_check.env(s),
        # Only the migration Job refuses an older image; a pod's migrate step never does (a pod
        # of the previous release restarting after a roll-forward must start).
        *([{"name": GATE_ENV, "value": "refuse"}] if m.mode == "job" and m.rollback_gate else []),
    ]


def wait_for_migrations_command() -> list[str]:
    return ["sh", "-c", WAIT_FOR_MIGRATIONS]


def job_name(s: Settings, template_shape: dict) -> str:
    """One name per release: the hash covers the image, the Job settings and the whole pod
    template (``template_shape``, built with placeholder AWS values), so any change that would
    alter the immutable template makes a new Job instead."""
    m = s.migrations
    fingerprint = json.dumps(
        [s.image, m.release, m.job_backoff_limit, m.job_deadline_seconds, template_shape],
        sort_keys=True,
    )
    return f"{s.name}-migrate-{hashlib.sha256(fingerprint.encode()).hexdigest()[:10]}"


REPLACE_UNREADY_ANNOTATION = "pulumi.com/replaceUnready"


def job(s: Settings, pod_spec: dict, name: str) -> dict:
    """The migration Job; ``pod_spec`` is the app pod's spec with the migrate step as its only
    container (built by ``builders/app.py`` ``migration_pod_spec``)."""
    m = s.migrations
    return app_job(s, name, JOB_COMPONENT, pod_spec, m.job_backoff_limit, m.job_deadline_seconds)


def app_job(
    s: Settings, name: str, component: str, pod_spec: dict, backoff_limit: int, deadline: int
) -> dict:
    """A Job of the app's pod (the migration Job, the first-admin Job): its credential
    annotations, ``restartPolicy: Never``, and replaced by the next ``up`` when it failed."""
    pod_labels = labels(s.name, component)
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "namespace": s.namespace,
            "labels": pod_labels,
            # A failed Job is replaced by the next `up` instead of being awaited again forever
            # (pulumi-kubernetes: a Job that is not ready is otherwise kept and re-awaited).
            "annotations": {REPLACE_UNREADY_ANNOTATION: "true"},
        },
        "spec": {
            "backoffLimit": backoff_limit,
            "activeDeadlineSeconds": deadline,
            "template": {
                "metadata": pod_metadata(s, component, pod_spec),
                "spec": {**pod_spec, "restartPolicy": "Never"},
            },
        },
    }


def pod_metadata(s: Settings, component: str, pod_spec: dict) -> dict:
    """Labels of ``component`` and the pod's credential annotations (when it has any)."""
    metadata: dict = {"labels": labels(s.name, component)}
    annotations = credential_annotations(s, pod_spec)
    if annotations:
        metadata["annotations"] = annotations
    return metadata


def migrate_container(s: Settings, base: dict) -> dict:
    """The locked migrate step, from the app container's env, mounts and resources."""
    return app_step(s, MIGRATE, migrate_command(), base, migrate_env(s))


def wait_for_migrations_container(s: Settings, base: dict) -> dict:
    timeout = {"name": "MIGRATIONS_WAIT_TIMEOUT", "value": str(s.migrations.wait_timeout_seconds)}
    return app_step(s, "wait-for-migrations", wait_for_migrations_command(), base, [timeout])

"""Raw ``DjangoAppArgs`` in, one validated and frozen ``Settings`` out.

Everything after :func:`normalise` reads only ``Settings``: defaults are filled in here, once,
and every problem with the input is collected and raised together before any resource exists.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any, Mapping, Optional

from .args import DEFAULTS
from .checks import (
    INT64_MAX,
    Problems,
    checked_bool,
    checked_int,
    is_int,
)

MIGRATION_MODES = ("init-container", "job", "none")


@dataclass(frozen=True)
class MigrationSettings:
    mode: str
    lock_key: int
    lock_timeout_seconds: int
    job_backoff_limit: int
    job_deadline_seconds: int
    release: Optional[str]
    wait_timeout_seconds: int
    rollback_gate: bool = True


def default_lock_key(namespace: str, name: str) -> int:
    """A signed 64-bit key that differs per app, stable across runs and Python versions."""
    digest = hashlib.sha256(f"djangoapp/{namespace}/{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def checked_migrations(
    problems: Problems, args: Mapping[str, Any], name: str, namespace: str
) -> MigrationSettings:
    mode = args.get("migrations", DEFAULTS["migrations"])
    if mode not in MIGRATION_MODES:
        problems.add("migrations", mode, f"must be one of {', '.join(MIGRATION_MODES)}")
        mode = "init-container"
    key = args.get("migration_lock_key", default_lock_key(namespace, name))
    if not is_int(key) or not -(2**63) <= key < 2**63:
        problems.add("migration_lock_key", key, "must be a signed 64-bit integer")
        key = 0
    timeout = args.get("migration_lock_timeout_seconds", DEFAULTS["migration_lock_timeout_seconds"])
    if not is_int(timeout) or timeout <= 0:
        problems.add(
            "migration_lock_timeout_seconds",
            timeout,
            "must be an integer number of seconds greater than 0",
        )
        timeout = 600
    release = args.get("migration_release")
    if release is not None and (
        not isinstance(release, str)
        or not re.match(r"^[a-z0-9]([-a-z0-9.]{0,30}[a-z0-9])?$", release)
    ):
        problems.add(
            "migration_release", release, "must be up to 32 lower-case letters, digits, '.' and '-'"
        )
        release = None
    job_only = (
        "migration_job_backoff_limit",
        "migration_job_deadline_seconds",
        "migration_release",
    )
    if mode != "job":
        for key_name in job_only:
            if key_name in args:
                problems.add(key_name, args[key_name], "only applies with migrations 'job'")
        # Processes (and schedules and the first-admin Job, unless migrations are none) wait in
        # every mode.
        waits = args.get("processes") or (
            (args.get("schedules") or args.get("first_admin") is not None) and mode != "none"
        )
        if "migrations_wait_timeout_seconds" in args and not waits:
            problems.add(
                "migrations_wait_timeout_seconds",
                args["migrations_wait_timeout_seconds"],
                "only applies with migrations 'job', processes, schedules or first_admin (what waits for migrations)",
            )
    return MigrationSettings(
        mode=mode,
        lock_key=key,
        lock_timeout_seconds=timeout,
        job_backoff_limit=checked_int(
            problems,
            "migration_job_backoff_limit",
            args.get("migration_job_backoff_limit", DEFAULTS["migration_job_backoff_limit"]),
            0,
            20,
        ),
        job_deadline_seconds=checked_int(
            problems,
            "migration_job_deadline_seconds",
            args.get("migration_job_deadline_seconds", DEFAULTS["migration_job_deadline_seconds"]),
            30,
            INT64_MAX,
        ),
        release=release,
        rollback_gate=checked_bool(
            problems,
            "rollback_gate",
            args.get("rollback_gate", DEFAULTS["rollback_gate"]),
            DEFAULTS["rollback_gate"],
        ),
        wait_timeout_seconds=checked_int(
            problems,
            "migrations_wait_timeout_seconds",
            args.get(
                "migrations_wait_timeout_seconds", DEFAULTS["migrations_wait_timeout_seconds"]
            ),
            1,
        ),
    )

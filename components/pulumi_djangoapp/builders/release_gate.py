"""The rollback gate: an image older than the applied schema is refused at ``pulumi up``.

Older means the database has migrations the image does not know. Django's ``MigrationLoader``
names them: applied (``django_migrations``) minus on disk, for the apps the image has (an app
removed altogether is not a rollback), squashed migrations counting for those they replace.
``showmigrations`` does not list them, so the check runs inline in the image's own ``manage.py``:
nothing is added to the user's image.

Where it runs, once per release and never in a serving pod (a pod of the previous release that
restarts after the new release migrated must start: expand/contract):
- ``job``: in the release's migration Job, before the deploy check and ``migrate``;
- ``init-container`` and ``none``: in a Job of its own per image (``<app>-release-<hash>``),
  which the Deployments, processes and schedules wait for; the pods' migrate steps never run it.
A refused release stops ``pulumi up`` before any pod template changes; ``rollback_gate: False``
(stack key ``rollbackGate``) lets it through.
"""

from __future__ import annotations

import hashlib
import json
from typing import Optional

from ..settings.app import Settings
from ..settings.env import GATE_ENV
from .app import command_pod_spec
from .fetch import AwsRefs
from .labels import RUN
from .migrations import ROLLBACK_GATE, app_job

CONTAINER = "release-gate"

BACKOFF_LIMIT = 1


def command() -> list[str]:
    return ["python", "manage.py", "shell", "-v", "0", "-c", ROLLBACK_GATE]


def separate(s: Settings) -> bool:
    """Whether the gate is a Job of its own (every mode but ``job``, where the migration Job
    carries it)."""
    return s.migrations.rollback_gate and s.migrations.mode != "job"


def deadline_seconds(s: Settings) -> int:
    return s.db_wait_timeout_seconds + 300


def job(s: Settings, refs: Optional[AwsRefs] = None) -> Optional[dict]:
    if not separate(s):
        return None
    spec = command_pod_spec(s, CONTAINER, command(), None, refs, False, env=((GATE_ENV, "refuse"),))
    # One per image: a new image runs the gate again, the same one never does.
    digest = hashlib.sha256(json.dumps([s.image, s.migrations.release]).encode()).hexdigest()[:10]
    return app_job(s, f"{s.name}-release-{digest}", RUN, spec, BACKOFF_LIMIT, deadline_seconds(s))

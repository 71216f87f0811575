"""One-off commands in the app's context: ``manage.py <anything>`` once, with the app's image,
fetch steps, secret files, wait-for-db, the wait for migrations (never migrating), the app's
ServiceAccount and the ``run`` NetworkPolicy the component keeps for them.

A Job for a command that runs to its end (a deadline, and deleted a day after it finished), or a
Pod for ``kubectl attach -it`` (``shell``, ``dbshell``): written by ``python -m
pulumi_djangoapp.run``, applied by a person. Neither holds the media role: a command that needs
uploads runs as a process or schedule.
"""

from __future__ import annotations

from typing import Optional, Sequence

from ..settings.app import Settings
from .app import command_pod_spec
from .fetch import AwsRefs
from .labels import RUN, labels
from .migrations import pod_metadata

CONTAINER = "run"

DEFAULT_DEADLINE_SECONDS = 3600

# A finished Job (and its pod's logs) stays a day, then the TTL controller deletes it.
TTL_SECONDS = 86400


def pod_spec(
    s: Settings, refs: Optional[AwsRefs], command: Sequence[str], interactive: bool = False
) -> dict:
    spec = command_pod_spec(s, CONTAINER, command, None, refs, s.migrations.mode != "none")
    if interactive:
        (main,) = spec["containers"]
        spec["containers"] = [{**main, "stdin": True, "stdinOnce": True, "tty": True}]
    return {**spec, "restartPolicy": "Never"}


def _metadata(s: Settings, name: str) -> dict:
    return {"name": name, "namespace": s.namespace, "labels": labels(s.name, RUN)}


def job(
    s: Settings,
    refs: Optional[AwsRefs],
    name: str,
    command: Sequence[str],
    deadline_seconds: int = DEFAULT_DEADLINE_SECONDS,
) -> dict:
    spec = pod_spec(s, refs, command)
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": _metadata(s, name),
        "spec": {
            # A failed command is not run again on its own: it may not be idempotent.
            "backoffLimit": 0,
            "activeDeadlineSeconds": deadline_seconds,
            "ttlSecondsAfterFinished": TTL_SECONDS,
            "template": {"metadata": pod_metadata(s, RUN, spec), "spec": spec},
        },
    }


def pod(
    s: Settings,
    refs: Optional[AwsRefs],
    name: str,
    command: Sequence[str],
    deadline_seconds: int = DEFAULT_DEADLINE_SECONDS,
) -> dict:
    spec = {
        **pod_spec(s, refs, command, interactive=True),
        "activeDeadlineSeconds": deadline_seconds,
    }
    metadata = {"name": name, "namespace": s.namespace, **pod_metadata(s, RUN, spec)}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec}

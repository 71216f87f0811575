"""Background processes (Celery workers, beat): a Deployment each, with the app pod's plumbing.

Each process runs the app image with its own exec-form command (so SIGTERM reaches the process
itself, not a shell), after the web pod's preparation (native sidecars, fetch steps, wait-for-db)
and a bounded ``migrate --check`` wait: a process never migrates, in any migration mode. It
listens on nothing: no Service, a NetworkPolicy that admits nothing.

Health comes from files the process writes under ``/tmp`` (from Celery signals in the example
app), checked by a tiny Python probe: ``celery inspect ping`` would load the whole app and ask the
broker on every probe, and restart every worker while the broker is away.

Shutdown is Celery's warm shutdown: SIGTERM stops taking tasks, running tasks finish, exit 0.
``termination_grace_seconds`` must cover the longest task; past it the kubelet kills the pod and
the task's message is redelivered only if it was acknowledged late (``task_acks_late``).

A ``singleton`` (beat) runs one replica with ``strategy: Recreate``: a rollout stops the old pod
before it starts the new one. A node partition can still leave an unreachable old pod running
while a new one starts (the control plane cannot stop what it cannot reach).
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

from ..settings.app import Settings
from ..settings.processes import ProcessSettings
from . import autoscaling, fetch, monitoring
from .app import CONFIG_HASH_ANNOTATION, command_pod_spec
from .fetch import AwsRefs
from .labels import PROCESS, labels, process_selector_labels

# A process's startup probe allows this long (60 failures, every 5 s).
STARTUP_SECONDS = 300

# Run with `python -I -S`: no site-packages, no user paths, only the standard library, so a probe
# costs a few milliseconds and never imports the app. argv: mode, file[, max age in seconds].
PROBE_SCRIPT = """\
import os, sys, time
mode, path = sys.argv[1], sys.argv[2]
try:
    age = time.time() - os.stat(path).st_mtime
except FileNotFoundError:
    sys.exit(f"{mode}: {path} does not exist")
if mode == "alive" and age > float(sys.argv[3]):
    sys.exit(f"alive: {path} is {age:.0f}s old, more than {sys.argv[3]}s")
"""


def _exec(p: ProcessSettings, *argv: str, period: int, failures: int) -> dict:
    return {
        "exec": {"command": ["python", "-I", "-S", "-c", PROBE_SCRIPT, *argv]},
        "periodSeconds": period,
        "failureThreshold": failures,
        "timeoutSeconds": 5,
    }


def probes(p: ProcessSettings) -> dict:
    """Container probe fields: up to five minutes to become ready (imports, broker connection)."""
    if not p.probes:
        return {}
    ready = ("ready", p.ready_file)
    return {
        "startupProbe": _exec(p, *ready, period=5, failures=60),
        "readinessProbe": _exec(p, *ready, period=10, failures=3),
        "livenessProbe": _exec(
            p, "alive", p.heartbeat_file, str(p.heartbeat_max_age_seconds), period=20, failures=3
        ),
    }


def env(p: ProcessSettings) -> tuple[tuple[str, str], ...]:
    """Where the process writes the files its probes read."""
    return (("HEARTBEAT_FILE", p.heartbeat_file), ("READY_FILE", p.ready_file))


def deployment_name(app: str, p: ProcessSettings) -> str:
    return f"{app}-{p.name}"


def deployment(
    p: ProcessSettings,
    app: str,
    namespace: str,
    pod_metadata: Mapping[str, Any],
    pod_spec: Mapping[str, Any],
) -> dict:
    strategy = (
        # The old pod is gone before the new one starts: never two beats.
        {"type": "Recreate"}
        if p.singleton
        else {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}
    )
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": deployment_name(app, p),
            "namespace": namespace,
            "labels": process_labels(app, p),
        },
        "spec": {
            "replicas": p.replicas,
            "revisionHistoryLimit": 5,
            "selector": {"matchLabels": process_selector_labels(app, p.name)},
            "strategy": strategy,
            "template": {"metadata": dict(pod_metadata), "spec": dict(pod_spec)},
        },
    }


def process_labels(app: str, p: ProcessSettings) -> dict[str, str]:
    return {**labels(app, PROCESS), **process_selector_labels(app, p.name)}


def spread(app: str, p: ProcessSettings) -> list[dict]:
    return [
        {
            "maxSkew": 1,
            "topologyKey": key,
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {"matchLabels": process_selector_labels(app, p.name)},
        }
        for key in ("kubernetes.io/hostname", "topology.kubernetes.io/zone")
    ]


def pod_disruption_budget(app: str, namespace: str, p: ProcessSettings) -> Optional[dict]:
    if p.replicas < 2 and not p.autoscaling:
        return None
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {
            "name": deployment_name(app, p),
            "namespace": namespace,
            "labels": process_labels(app, p),
        },
        "spec": {
            "maxUnavailable": 1,
            "unhealthyPodEvictionPolicy": "AlwaysAllow",
            "selector": {"matchLabels": process_selector_labels(app, p.name)},
        },
    }


def horizontal_pod_autoscaler(app: str, namespace: str, p: ProcessSettings) -> Optional[dict]:
    if not p.autoscaling:
        return None
    name = deployment_name(app, p)
    return autoscaling.horizontal_pod_autoscaler(
        p.autoscaling, name, namespace, name, container=p.name, instance=app, component=PROCESS
    )


def process_pod_spec(s: Settings, process, refs: Optional[AwsRefs] = None) -> dict:
    """A background process: waits for migrations in every mode (with ``none`` someone else runs
    them, and a worker must not start on a schema it does not know)."""
    spec = command_pod_spec(
        s,
        process.name,
        process.command,
        process.resources,
        refs,
        True,
        env(process),
        **probes(process),
    )
    spec["terminationGracePeriodSeconds"] = process.termination_grace_seconds
    if s.monitoring and monitoring.heartbeat_exported(process):
        # First, like every native sidecar: it serves the heartbeat's age from the pod's start.
        spec["initContainers"] = [
            monitoring.heartbeat_sidecar(s, process),
            *spec.get("initContainers", []),
        ]
    if process.replicas >= 2 or process.autoscaling:
        spec["topologySpreadConstraints"] = spread(s.name, process)
    return spec


def process_deployments(s: Settings, refs: Optional[AwsRefs] = None) -> list[tuple[str, dict]]:
    result = []
    for process in s.processes:
        spec = process_pod_spec(s, process, refs)
        pod_metadata = {
            "labels": process_labels(s.name, process),
            "annotations": {
                CONFIG_HASH_ANNOTATION: s.config_hash,
                **fetch.credential_annotations(s, spec),
            },
        }
        result.append(
            (
                f"process-{process.name}",
                deployment(process, s.name, s.namespace, pod_metadata, spec),
            )
        )
    return result


def await_seconds(s: Settings) -> int:
    """How long a process rollout may take: the database wait, the wait for migrations (every
    mode) and the startup probe."""
    return s.db_wait_timeout_seconds + s.migrations.wait_timeout_seconds + STARTUP_SECONDS

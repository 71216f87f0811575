"""The arguments of background processes (``ProcessArgs``): names, exec-form commands, replicas
or a singleton, the grace period, the file probes and an autoscaler. The Deployments, their
probes and pods are in ``builders/processes.py``."""

from dataclasses import dataclass
from typing import Any, List, Mapping, NotRequired, Optional, TypedDict

from . import autoscaling, queue_autoscaling
from .autoscaling import AutoscalingSettings
from .checks import DNS1123_LABEL, Problems, checked_bool, is_int, unknown_keys
from .queue_autoscaling import QueueAutoscalingSettings
from .resources import DEFAULT_APP_RESOURCES, Resources, checked_resources

# Pod host names are the pod name cut at 63: <deployment>-<10-char template hash>-<5-char id>.
MAX_DEPLOYMENT_NAME = 47

DEFAULT_GRACE_SECONDS = 120

DEFAULT_HEARTBEAT_FILE = "/tmp/heartbeat"

WITHOUT_HEARTBEAT = "--without-heartbeat"

DEFAULT_READY_FILE = "/tmp/ready"

DEFAULT_HEARTBEAT_MAX_AGE = 60

# Where a process can write (the pod's in-memory /tmp and its log volume).
WRITABLE_DIRS = ("/tmp/", "/var/log/app/")


class ProcessArgs(TypedDict):
    """A long-running process from the app image: a Celery worker, beat, a consumer."""

    name: str
    """Name of the process; its Deployment is ``<app>-<name>`` (at most 47 characters). Required."""
    command: List[str]
    """Exec-form command (``["celery", "-A", "project", "worker"]``); no shell, so SIGTERM reaches
    it. Required."""
    replicas: NotRequired[int]
    """Pods. Default: ``1``."""
    resources: NotRequired[Mapping[str, Any]]
    """Requests and limits. Default: the django container's."""
    singleton: NotRequired[bool]
    """Never two at once (beat): one replica, ``strategy: Recreate``. Default: ``False``."""
    termination_grace_seconds: NotRequired[int]
    """Time from SIGTERM to SIGKILL: longer than the longest task. Default: ``120``."""
    probes: NotRequired[bool]
    """Startup/readiness from ``ready_file`` and liveness from ``heartbeat_file``. Default: ``True``."""
    heartbeat_file: NotRequired[str]
    """File the process touches while it works. Default: ``/tmp/heartbeat``."""
    heartbeat_max_age_seconds: NotRequired[int]
    """Liveness fails when the heartbeat is older than this. Default: ``60``."""
    ready_file: NotRequired[str]
    """File the process creates once it is ready (and removes on shutdown). Default: ``/tmp/ready``."""
    autoscaling: NotRequired[Mapping[str, Any]]
    """An ``AutoscalingArgs`` for this process (CPU of its container). Default: none."""
    queue_autoscaling: NotRequired[Mapping[str, Any]]
    """A ``QueueAutoscalingArgs``: scaled by KEDA on its Celery queues' length (the in-cluster
    broker only); not with ``autoscaling``. Default: none."""


@dataclass(frozen=True)
class ProcessSettings:
    name: str
    command: tuple[str, ...]
    replicas: int
    resources: Optional[Resources]  # None: the django container's
    singleton: bool
    termination_grace_seconds: int
    probes: bool
    heartbeat_file: str
    heartbeat_max_age_seconds: int
    ready_file: str
    autoscaling: Optional[AutoscalingSettings]
    queue_autoscaling: Optional[QueueAutoscalingSettings] = None


def _file(problems: Problems, field: str, value: Any) -> str:
    if (
        not isinstance(value, str)
        or not value.startswith(WRITABLE_DIRS)
        or value.endswith("/")
        or "/../" in value
    ):
        problems.add(
            field,
            value,
            f"must be a file under {' or '.join(WRITABLE_DIRS)} (the root filesystem is read-only)",
        )
        return ""
    return value


def normalise(
    problems: Problems, raw: Any, app_name: str, taken: set[str]
) -> tuple[ProcessSettings, ...]:
    """``taken`` holds container, sidecar and schedule names a process may not reuse."""
    if raw is None:
        return ()
    if not isinstance(raw, (list, tuple)):
        problems.add("processes", raw, "must be a list of ProcessArgs")
        return ()
    result = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        field = f"processes[{i}]"
        if not isinstance(item, Mapping):
            problems.add(field, item, "must be a mapping with name and command")
            continue
        item = {k: v for k, v in item.items() if v is not None}
        unknown_keys(problems, item, ProcessArgs, f"{field}.")
        name = item.get("name")
        if not isinstance(name, str) or not DNS1123_LABEL.match(name):
            problems.add(f"{field}.name", name, "must be a DNS-1123 label")
        elif len(f"{app_name}-{name}") > MAX_DEPLOYMENT_NAME:
            problems.add(
                f"{field}.name",
                name,
                f"makes the Deployment name '{app_name}-{name}' longer than {MAX_DEPLOYMENT_NAME} characters (pod host names add 17)",
            )
        elif name in seen or name in taken:
            problems.add(
                f"{field}.name",
                name,
                "is already the name of another process, schedule, sidecar or container",
            )
        seen.add(name if isinstance(name, str) else "")
        command = item.get("command")
        if (
            not isinstance(command, (list, tuple))
            or not command
            or not all(isinstance(c, str) and c for c in command)
        ):
            problems.add(
                f"{field}.command",
                command,
                "is required: an exec-form list of strings (no shell, so SIGTERM reaches the process)",
            )
            command = ()
        singleton = checked_bool(
            problems, f"{field}.singleton", item.get("singleton", False), False
        )
        replicas = item.get("replicas", 1)
        if not is_int(replicas) or not 1 <= replicas <= 2**31 - 1:
            problems.add(f"{field}.replicas", replicas, "must be an integer of at least 1")
            replicas = 1
        elif singleton and replicas != 1:
            problems.add(
                f"{field}.replicas",
                replicas,
                "must be 1 for a singleton (two beats would send every periodic task twice)",
            )
        scaling = autoscaling.normalise(
            problems,
            item.get("autoscaling"),
            item.get("replicas"),
            f"{field}.autoscaling",
            f"{field}.replicas",
        )
        if scaling and singleton:
            problems.add(
                f"{field}.autoscaling", item.get("autoscaling"), "cannot scale a singleton"
            )
            scaling = None
        if scaling and "replicas" not in item:
            replicas = scaling.min_replicas
        by_queue = queue_autoscaling.normalise(
            problems, item.get("queue_autoscaling"), f"{field}.queue_autoscaling"
        )
        if by_queue and singleton:
            problems.add(
                f"{field}.queue_autoscaling",
                item.get("queue_autoscaling"),
                "cannot scale a singleton",
            )
            by_queue = None
        if by_queue and "autoscaling" in item:
            problems.add(
                f"{field}.queue_autoscaling",
                item.get("queue_autoscaling"),
                "cannot scale a process that autoscaling already scales on CPU: choose one "
                "(both would own its replica count)",
            )
            by_queue = None
        if by_queue and "replicas" in item:
            problems.add(
                f"{field}.replicas",
                replicas,
                "is set by KEDA with queue_autoscaling: use queue_autoscaling.min_replicas",
            )
        if by_queue:
            replicas = max(by_queue.min_replicas, 1)
        grace = item.get("termination_grace_seconds", DEFAULT_GRACE_SECONDS)
        if not is_int(grace) or not 1 <= grace <= 2**31 - 1:
            problems.add(
                f"{field}.termination_grace_seconds",
                grace,
                "must be a positive number of seconds (longer than the longest task)",
            )
            grace = DEFAULT_GRACE_SECONDS
        probes = checked_bool(problems, f"{field}.probes", item.get("probes", True), True)
        max_age = item.get("heartbeat_max_age_seconds", DEFAULT_HEARTBEAT_MAX_AGE)
        if not is_int(max_age) or not 5 <= max_age <= 86400:
            problems.add(
                f"{field}.heartbeat_max_age_seconds",
                max_age,
                "must be a number of seconds from 5 to 86400",
            )
            max_age = DEFAULT_HEARTBEAT_MAX_AGE
        if (
            probes is not False
            and isinstance(command, (list, tuple))
            and WITHOUT_HEARTBEAT in command
        ):
            # celery/worker/consumer/heart.py: the flag disables the Heart step, and with it every
            # heartbeat_sent signal (celery/worker/heartbeat.py) that refreshes the heartbeat file.
            problems.add(
                f"{field}.command",
                list(command),
                f"must not pass {WITHOUT_HEARTBEAT} while probes are on: the heartbeat file would never be "
                "refreshed and liveness would restart the worker forever (or set probes: false)",
            )
        heartbeat = _file(
            problems, f"{field}.heartbeat_file", item.get("heartbeat_file", DEFAULT_HEARTBEAT_FILE)
        )
        ready = _file(problems, f"{field}.ready_file", item.get("ready_file", DEFAULT_READY_FILE))
        if heartbeat and heartbeat == ready:
            problems.add(f"{field}.ready_file", ready, "must differ from heartbeat_file")
        result.append(
            ProcessSettings(
                name=name if isinstance(name, str) else "",
                command=tuple(command),
                replicas=replicas,
                resources=checked_resources(
                    problems, f"{field}.resources", item["resources"], DEFAULT_APP_RESOURCES
                )
                if "resources" in item
                else None,
                singleton=singleton,
                termination_grace_seconds=grace,
                probes=probes is not False,
                heartbeat_file=heartbeat,
                heartbeat_max_age_seconds=max_age,
                ready_file=ready,
                autoscaling=scaling,
                queue_autoscaling=by_queue,
            )
        )
    return tuple(result)

"""The arguments of workers scaled on their queue (``QueueAutoscalingArgs``, per process) and of
the KEDA operator that reads the queue (``KedaArgs``). What they build is in
``builders/queue_autoscaling.py``."""

from dataclasses import dataclass
from typing import Any, List, Mapping, NotRequired, Optional, TypedDict

from .checks import Problems, given_args, is_int

DEFAULT_QUEUES = ("celery",)

# kombu/transport/redis.py PRIORITY_STEPS: the Redis transport spreads messages over these
# steps whether or not the app configures priorities (a message without one waits at step 0).
DEFAULT_PRIORITY_STEPS = (0, 3, 6, 9)

DEFAULT_MESSAGES_PER_REPLICA = 20

DEFAULT_COOLDOWN_SECONDS = 300

DEFAULT_POLLING_SECONDS = 30

# KEDA gives up on the queue after this many failed reads in a row and runs fallback_replicas.
FALLBACK_FAILURES = 3

# kombu/transport/redis.py (Channel.sep, Channel._q_for_pri): with priorities, a message of
# priority step p > 0 waits in the list "<queue>\x06\x16<p>"; step 0 in "<queue>" itself.
KOMBU_PRIORITY_SEPARATOR = "\x06\x16"

KEDA_NAMESPACE = "keda"

# config/manager/manager.yaml of kedacore/keda: the operator's pod template labels.
KEDA_POD_LABELS = {"app": "keda-operator"}

_QUEUE_NAME_CHARACTERS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-")


class QueueAutoscalingArgs(TypedDict):
    """Scale a process on the length of its Celery queues (KEDA's redis scaler)."""

    max_replicas: int
    """Most pods. Required."""
    min_replicas: NotRequired[int]
    """Fewest pods; ``0`` stops every worker while the queues are empty. Default: ``1``."""
    queues: NotRequired[List[str]]
    """The Celery queues the process consumes (``-Q``). Default: ``["celery"]``."""
    priority_steps: NotRequired[List[int]]
    """Celery's ``broker_transport_options["priority_steps"]``: one Redis list per step, one
    trigger each; ``[0]`` when the app never sends a priority. Default: ``[0, 3, 6, 9]``
    (kombu's)."""
    messages_per_replica: NotRequired[int]
    """Waiting messages one pod is expected to take on (KEDA's ``listLength``). Default: ``20``."""
    cooldown_seconds: NotRequired[int]
    """Seconds with empty queues before scaling to ``min_replicas`` 0. Default: ``300``."""
    polling_seconds: NotRequired[int]
    """How often KEDA reads the queues. Default: ``30``."""
    fallback_replicas: NotRequired[int]
    """Pods to run while the queues cannot be read (three failed reads in a row). Default:
    ``min_replicas``, at least 1."""


class KedaArgs(TypedDict):
    """Where the KEDA operator runs: the broker's NetworkPolicy admits it."""

    namespace: NotRequired[str]
    """Namespace of the KEDA operator. Default: ``keda``."""
    pod_labels: NotRequired[Mapping[str, str]]
    """Labels of the operator's pods. Default: ``{"app": "keda-operator"}``."""


@dataclass(frozen=True)
class QueueAutoscalingSettings:
    min_replicas: int
    max_replicas: int
    queues: tuple[str, ...]
    priority_steps: tuple[int, ...]
    messages_per_replica: int
    cooldown_seconds: int
    polling_seconds: int
    fallback_replicas: int

    def lists(self) -> tuple[tuple[str, str], ...]:
        """``(trigger name, Redis list)`` for every list a message of these queues can wait in."""
        result = []
        for queue in self.queues:
            result.append((queue, queue))
            for step in self.priority_steps:
                if step:
                    result.append(
                        (f"{queue}-priority-{step}", f"{queue}{KOMBU_PRIORITY_SEPARATOR}{step}")
                    )
        return tuple(result)


@dataclass(frozen=True)
class KedaSettings:
    namespace: str
    pod_labels: tuple[tuple[str, str], ...]


def _count(problems: Problems, field: str, value: Any, low: int, high: int, default: int) -> int:
    if not is_int(value) or not low <= value <= high:
        problems.add(field, value, f"must be an integer from {low} to {high}")
        return default
    return value


def normalise(problems: Problems, raw: Any, field: str) -> Optional[QueueAutoscalingSettings]:
    given = given_args(problems, raw, QueueAutoscalingArgs, field)
    if given is None:
        return None
    if "max_replicas" not in given:
        problems.add(
            f"{field}.max_replicas", None, "is required: the most pods the queue may ask for"
        )
    high = _count(problems, f"{field}.max_replicas", given.get("max_replicas", 1), 1, 1000, 1)
    low = _count(problems, f"{field}.min_replicas", given.get("min_replicas", 1), 0, 1000, 1)
    if low > high:
        problems.add(f"{field}.min_replicas", low, f"must not exceed max_replicas ({high})")
    queues = given.get("queues", list(DEFAULT_QUEUES))
    if (
        not isinstance(queues, (list, tuple))
        or not queues
        or not all(
            isinstance(q, str) and q and len(q) <= 200 and set(q) <= _QUEUE_NAME_CHARACTERS
            for q in queues
        )
        or len(set(queues)) != len(queues)
    ):
        problems.add(
            f"{field}.queues",
            queues,
            "must be a non-empty list of distinct Celery queue names (letters, digits, . _ : -)",
        )
        queues = list(DEFAULT_QUEUES)
    steps = given.get("priority_steps", list(DEFAULT_PRIORITY_STEPS))
    if (
        not isinstance(steps, (list, tuple))
        or not steps
        or not all(is_int(p) and 0 <= p <= 255 for p in steps)
        or list(steps) != sorted(set(steps))
        or steps[0] != 0
    ):
        problems.add(
            f"{field}.priority_steps",
            steps,
            "must be Celery's priority_steps: ascending integers from 0, such as [0, 3, 6, 9] "
            "(kombu's default) or [0] when the app never sends a priority",
        )
        steps = list(DEFAULT_PRIORITY_STEPS)
    fallback = min(max(low, 1), high)
    if "fallback_replicas" in given:
        fallback = _count(
            problems, f"{field}.fallback_replicas", given["fallback_replicas"], 1, 1000, fallback
        )
        if fallback > high:
            problems.add(
                f"{field}.fallback_replicas", fallback, f"must not exceed max_replicas ({high})"
            )
    return QueueAutoscalingSettings(
        min_replicas=low,
        max_replicas=high,
        queues=tuple(queues),
        priority_steps=tuple(steps),
        messages_per_replica=_count(
            problems, f"{field}.messages_per_replica",
            given.get("messages_per_replica", DEFAULT_MESSAGES_PER_REPLICA), 1, 100000,
            DEFAULT_MESSAGES_PER_REPLICA,
        ),
        cooldown_seconds=_count(
            problems, f"{field}.cooldown_seconds",
            given.get("cooldown_seconds", DEFAULT_COOLDOWN_SECONDS), 0, 86400, DEFAULT_COOLDOWN_SECONDS,
        ),
        polling_seconds=_count(
            problems, f"{field}.polling_seconds",
            given.get("polling_seconds", DEFAULT_POLLING_SECONDS), 5, 3600, DEFAULT_POLLING_SECONDS,
        ),
        fallback_replicas=fallback,
    )  # fmt: skip


def normalise_keda(problems: Problems, raw: Any) -> KedaSettings:
    given = given_args(problems, raw, KedaArgs, "keda") or {}
    namespace = given.get("namespace", KEDA_NAMESPACE)
    if not isinstance(namespace, str) or not namespace:
        problems.add("keda.namespace", namespace, "must be a namespace name")
        namespace = KEDA_NAMESPACE
    labels = given.get("pod_labels", KEDA_POD_LABELS)
    if (
        not isinstance(labels, Mapping)
        or not labels
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in labels.items())
    ):
        problems.add(
            "keda.pod_labels", labels, "must be a non-empty mapping of label names to values"
        )
        labels = KEDA_POD_LABELS
    return KedaSettings(namespace=namespace, pod_labels=tuple(sorted(labels.items())))

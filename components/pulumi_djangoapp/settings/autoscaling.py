"""A HorizontalPodAutoscaler for the django container.

``ContainerResource`` metrics (GA in 1.30, below the oldest supported version) target the
django container alone: a ``Resource`` metric would divide the pod's summed usage by the summed
requests of every container, native sidecars included, and a log shipper would skew it. With an
HPA the Deployment's ``replicas`` is only the initial count: the component registers it with
``ignore_changes`` on ``spec.replicas`` so that no later ``up`` fights the autoscaler.
"""

from dataclasses import dataclass
from typing import Any, NotRequired, Optional, TypedDict

from .checks import Problems, given_args, is_int


class AutoscalingArgs(TypedDict):
    """Replicas between a floor and a ceiling, by CPU (and optionally memory) of django."""

    min_replicas: NotRequired[int]
    """Fewest pods. Default: ``2``."""
    max_replicas: int
    """Most pods. Required."""
    cpu_utilization: NotRequired[int]
    """Target CPU use, in percent of the django container's request. Default: ``70``."""
    memory_utilization: NotRequired[int]
    """Target memory use in percent of its request. Default: none (CPU only)."""


@dataclass(frozen=True)
class AutoscalingSettings:
    min_replicas: int
    max_replicas: int
    cpu_utilization: int
    memory_utilization: Optional[int]


def normalise(
    problems: Problems,
    raw: Any,
    replicas_given: Any,
    field: str = "autoscaling",
    replicas_field: str = "replicas",
) -> Optional[AutoscalingSettings]:
    raw = given_args(problems, raw, AutoscalingArgs, field)
    if raw is None:
        return None
    low = raw.get("min_replicas", 2)
    high = raw.get("max_replicas")
    ok = True
    if not is_int(low) or not 1 <= low <= 2**31 - 1:
        problems.add(f"{field}.min_replicas", low, "must be an integer of at least 1")
        ok = False
    if high is None:
        problems.add(
            f"{field}.max_replicas", None, "is required: the most pods the autoscaler may run"
        )
        ok = False
    elif not is_int(high) or not 1 <= high <= 2**31 - 1:
        problems.add(f"{field}.max_replicas", high, "must be an integer of at least 1")
        ok = False
    elif ok and high < low:
        problems.add(f"{field}.max_replicas", high, f"must not be below min_replicas ({low})")
        ok = False
    if ok and is_int(replicas_given) and not low <= replicas_given <= high:
        problems.add(
            replicas_field,
            replicas_given,
            f"is the initial count with autoscaling: it must lie between min_replicas ({low}) and max_replicas ({high})",
        )
    targets = {}
    for key, default in (("cpu_utilization", 70), ("memory_utilization", None)):
        value = raw.get(key, default)
        if value is not None and (not is_int(value) or not 1 <= value <= 1000):
            problems.add(
                f"{field}.{key}",
                value,
                "must be a percentage from 1 to 1000 of the container's request",
            )
            value = default
        targets[key] = value
    if not ok:
        return None
    return AutoscalingSettings(low, high, targets["cpu_utilization"], targets["memory_utilization"])

"""The pod's effective resource requests and limits, as the scheduler computes them (KEP-753).

For each resource, over the ``initContainers`` list in order:

* a regular init step ``i`` uses ``own(i) + sum(sidecars listed before i)``;
* the run phase uses ``sum(all sidecars) + sum(app containers)``;
* the pod needs ``max(every init step's use, run phase)`` (pod overhead is not modelled: the
  component sets no RuntimeClass).

A container that sets a limit but no request is given the limit as its request, as the API server
does. A limit left unset is unbounded, and so is every sum or maximum it takes part in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Literal, Mapping, Optional, Sequence

from ..settings.quantities import format_quantity, parse_quantity

Role = Literal["sidecar", "init", "app"]


@dataclass(frozen=True)
class ContainerResources:
    """One container's place in the pod and its parsed requests/limits."""

    name: str
    role: Role
    requests: Mapping[str, Fraction] = field(default_factory=dict)
    limits: Mapping[str, Fraction] = field(default_factory=dict)

    def request(self, resource: str) -> Fraction:
        if resource in self.requests:
            return self.requests[resource]
        return self.limits.get(resource, Fraction(0))

    def limit(self, resource: str) -> Optional[Fraction]:
        return self.limits.get(resource)


def _phase_totals(containers: Sequence[ContainerResources], amount) -> list[Optional[Fraction]]:
    """Every phase's use of one resource: each init step's, then the run phase's last."""
    totals: list[Optional[Fraction]] = []
    sidecars_so_far: Optional[Fraction] = Fraction(0)
    run: Optional[Fraction] = Fraction(0)

    def add(a: Optional[Fraction], b: Optional[Fraction]) -> Optional[Fraction]:
        return None if a is None or b is None else a + b

    for container in containers:
        own = amount(container)
        if container.role == "init":
            totals.append(add(own, sidecars_so_far))
        else:
            run = add(run, own)
            if container.role == "sidecar":
                sidecars_so_far = add(sidecars_so_far, own)
    totals.append(run)
    return totals


def _maximum(values: list[Optional[Fraction]]) -> Optional[Fraction]:
    return None if any(v is None for v in values) else max(values)  # type: ignore[type-var]


def effective_pod_resources(
    containers: Sequence[ContainerResources],
) -> tuple[dict[str, Fraction], dict[str, Optional[Fraction]]]:
    """Return ``(requests, limits)`` per resource name; a limit of ``None`` means unbounded.

    ``containers`` lists the init containers (sidecars and regular steps) in pod order; app
    containers may come anywhere, since they only count in the run phase.
    """
    names = sorted({r for c in containers for r in (*c.requests, *c.limits)})
    requests = {
        r: _maximum(_phase_totals(containers, lambda c, r=r: c.request(r))) or Fraction(0)
        for r in names
    }
    limits = {r: _maximum(_phase_totals(containers, lambda c, r=r: c.limit(r))) for r in names}
    return requests, limits


def format_resources(amounts: Mapping[str, Optional[Fraction]]) -> dict[str, str]:
    """Quantity strings for the bounded resources; unbounded ones are left out."""
    return {r: format_quantity(v, r) for r, v in sorted(amounts.items()) if v is not None}


def container_resources(spec: dict) -> list[ContainerResources]:
    """Read a pod spec's containers, in pod order, for the effective-resources formula."""

    def parsed(c: dict, role) -> ContainerResources:
        resources = c.get("resources", {})
        return ContainerResources(
            name=c["name"],
            role=role,
            requests={k: parse_quantity(v) for k, v in resources.get("requests", {}).items()},
            limits={k: parse_quantity(v) for k, v in resources.get("limits", {}).items()},
        )

    init = [
        parsed(c, "sidecar" if c.get("restartPolicy") == "Always" else "init")
        for c in spec.get("initContainers", [])
    ]
    return [*init, *(parsed(c, "app") for c in spec["containers"])]

import math
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Dict, Mapping, NotRequired, TypedDict

from .checks import Problems, checked_mapping, unknown_keys
from .quantities import QuantityError, parse_quantity

# The django container's requests and limits (and migrate's, and every schedule's and process's
# unless they set their own).
DEFAULT_APP_RESOURCES = {
    "requests": {"cpu": "250m", "memory": "256Mi"},
    "limits": {"cpu": "1", "memory": "512Mi"},
}


class ResourcesArgs(TypedDict):
    """Requests and limits of one container, as quantity strings (``{"cpu": "250m"}``)."""

    requests: NotRequired[Dict[str, str]]
    """What the scheduler reserves. Default: depends on the container (see the README)."""
    limits: NotRequired[Dict[str, str]]
    """The most the container may use. Default: depends on the container; a limit you leave out is
    never set below your request."""


RESOURCE_NAME = re.compile(
    r"^(cpu|memory|ephemeral-storage|hugepages-[0-9]+[KMG]i|[a-z0-9.-]+/[a-zA-Z0-9._-]+)$"
)


@dataclass(frozen=True)
class Resources:
    """Requests and limits as (name, quantity string) pairs, sorted by name."""

    requests: tuple[tuple[str, str], ...]
    limits: tuple[tuple[str, str], ...]

    def manifest(self) -> dict[str, dict[str, str]]:
        return {"requests": dict(self.requests), "limits": dict(self.limits)}

    def parsed(self) -> tuple[dict[str, Fraction], dict[str, Fraction]]:
        return (
            {k: parse_quantity(v) for k, v in self.requests},
            {k: parse_quantity(v) for k, v in self.limits},
        )


def checked_resources(
    problems: Problems, field: str, value: Any, defaults: Mapping[str, Mapping[str, str]]
) -> Resources:
    """User requests/limits over the defaults; a default limit never ends below a user request."""
    raw = checked_mapping(problems, field, value)
    unknown_keys(problems, raw, ResourcesArgs, f"{field}.")
    given: dict[str, dict[str, tuple[str, Fraction]]] = {"requests": {}, "limits": {}}
    for section in ("requests", "limits"):
        for resource, quantity in checked_mapping(
            problems, f"{field}.{section}", raw.get(section)
        ).items():
            where = f"{field}.{section}.{resource}"
            if not isinstance(resource, str) or not RESOURCE_NAME.match(resource):
                problems.add(
                    where, resource, "is not a resource name (cpu, memory, ephemeral-storage, ...)"
                )
                continue
            # A number (cpu: 0.5, memory: 1073741824) is a valid quantity too: kept as its text.
            text = (
                number_text(quantity)
                if isinstance(quantity, (int, float)) and not isinstance(quantity, bool)
                else quantity
            )
            try:
                amount = parse_quantity(text)
            except QuantityError:
                problems.add(
                    where, quantity, "must be a Kubernetes quantity such as '250m' or '1Gi'"
                )
                continue
            if amount < 0:
                problems.add(where, quantity, "must not be negative")
                continue
            if section == "limits" and amount == 0:
                problems.add(
                    where,
                    quantity,
                    "must be greater than 0 (a zero limit leaves the container nothing)",
                )
                continue
            given[section][resource] = (str(text), amount)

    for resource, (text, request) in given["requests"].items():
        limit = given["limits"].get(resource)
        if limit is not None and limit[1] < request:
            problems.add(
                f"{field}.limits.{resource}",
                limit[0],
                f"must not be below the request ({text})",
            )
    for resource, (text, limit) in given["limits"].items():
        default = defaults["requests"].get(resource)
        if (
            resource not in given["requests"]
            and default is not None
            and limit < parse_quantity(default)
        ):
            problems.add(
                f"{field}.limits.{resource}",
                text,
                f"is below the default request ({default}); set {field}.requests.{resource} too",
            )
    for resource in {*given["requests"], *given["limits"]}:
        # The API server admits extended resources (vendor/name) and hugepages only as whole
        # requests equal to their limits: they cannot be overcommitted.
        if "/" in resource or resource.startswith("hugepages-"):
            request, limit = given["requests"].get(resource), given["limits"].get(resource)
            if request is None or limit is None or request[1] != limit[1]:
                problems.add(
                    f"{field}.limits.{resource}",
                    limit[0] if limit else None,
                    f"must be given and equal to the request ({request[0] if request else 'none'}): {resource} cannot be overcommitted",
                )
            elif "/" in resource and request[1].denominator != 1:
                problems.add(f"{field}.requests.{resource}", request[0], "must be a whole number")

    requests = {
        r: given["requests"].get(r, (q, parse_quantity(q))) for r, q in defaults["requests"].items()
    }
    requests.update(given["requests"])
    limits = {
        r: given["limits"].get(r, (q, parse_quantity(q))) for r, q in defaults["limits"].items()
    }
    limits.update(given["limits"])
    for resource, (text, request) in requests.items():
        if resource not in given["limits"] and resource in limits and limits[resource][1] < request:
            limits[resource] = (text, request)
    return Resources(
        requests=tuple(sorted((r, t) for r, (t, _) in requests.items())),
        limits=tuple(sorted((r, t) for r, (t, _) in limits.items())),
    )


def number_text(value: float) -> str:
    """A YAML/JSON number as quantity text: 0.5 -> '0.5', 2.0 -> '2', 1e-05 -> '1e-05'."""
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return str(int(value))
    return repr(value)  # inf and nan stay unparseable and are refused as quantities

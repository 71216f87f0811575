"""Checks on user input that report every problem at once, before any resource exists.

Each problem names the field (a dotted path such as ``sidecars[0].name``), the value given and
what is allowed, so that a user fixing a stack sees the whole list in one ``pulumi preview``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Optional

from .quantities import QuantityError, parse_quantity

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")

# A name the kubelet accepts in every supported Kubernetes version (the relaxed rule of 1.30+
# allows more, but a manifest must also apply to 1.29 clusters).
ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")

_COMPONENT = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?"

_PATH_PART = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"

# The reference grammar of the OCI distribution spec: [registry[:port]/]path[:tag][@digest].
IMAGE_REFERENCE = re.compile(
    rf"^(?:(?P<registry>{_COMPONENT}(?:\.{_COMPONENT})*(?::[0-9]+)?)/)?"
    rf"(?P<path>{_PATH_PART}(?:/{_PATH_PART})*)"
    r"(?::(?P<tag>[a-zA-Z0-9_][a-zA-Z0-9_.-]{0,127}))?"
    r"(?:@(?P<digest>[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[0-9a-zA-Z=_-]+))?$"
)


@dataclass(frozen=True)
class Problem:
    """One invalid value: where it is, what it was, what would be accepted."""

    field: str
    value: object
    allowed: str

    def __str__(self) -> str:
        # Values as a stack file or JSON would spell them: true, not True; nothing, not None.
        if self.value is None:
            return f"{self.field} is empty: {self.allowed}"
        if isinstance(self.value, bool):
            return f"{self.field} = {'true' if self.value else 'false'}: {self.allowed}"
        return f"{self.field} = {self.value!r}: {self.allowed}"


class ValidationError(ValueError):
    """Every problem found in one set of arguments."""

    def __init__(self, subject: str, problems: Iterable[Problem]):
        self.subject = subject
        self.problems = list(problems)
        count = len(self.problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        plural = "argument" if count == 1 else "arguments"
        super().__init__(f"{subject}: {count} invalid {plural}:\n{lines}")


class Problems:
    """Collects problems while settings are normalised; ``raise_if_any`` ends the check."""

    def __init__(self) -> None:
        self.items: list[Problem] = []

    def add(self, field: str, value: object, allowed: str) -> None:
        self.items.append(Problem(field, value, allowed))

    def raise_if_any(self, subject: str) -> None:
        if self.items:
            raise ValidationError(subject, self.items)


def image_problem(image: object) -> Optional[str]:
    """Why ``image`` cannot be deployed reproducibly, or ``None`` when it is a pinned reference."""
    if not isinstance(image, str) or not image.strip():
        return "must be a non-empty image reference such as 'ghcr.io/acme/shop:1.4.2'"
    match = IMAGE_REFERENCE.match(image)
    if not match:
        return "is not a valid image reference ([registry/]path[:tag][@sha256:digest])"
    tag, digest = match.group("tag"), match.group("digest")
    if not tag and not digest:
        return "must be pinned with a tag or a digest (an untagged image means ':latest')"
    if tag and tag.lower() == "latest" and not digest:
        return (
            "must not use ':latest'; pin a version tag or a digest so every pod runs the same code"
        )
    if digest:
        return _digest_problem(digest)
    return None


_DIGEST_LENGTHS = {"sha256": 64, "sha512": 128}


def _digest_problem(digest: str) -> Optional[str]:
    """A digest registries and the kubelet accept: sha256 (64) or sha512 (128) lower-case hex."""
    algorithm, _, encoded = digest.partition(":")
    expected = _DIGEST_LENGTHS.get(algorithm)
    if expected is None:
        return f"has digest algorithm {algorithm!r}; allowed: sha256, sha512"
    if not re.fullmatch(rf"[0-9a-f]{{{expected}}}", encoded):
        return f"has a {algorithm} digest that is not {expected} lower-case hex digits"
    return None


def dns_label_problem(value: object, max_length: int = 63) -> Optional[str]:
    """Why ``value`` is not a DNS-1123 label of at most ``max_length`` characters."""
    allowed = (
        f"must be a DNS-1123 label: at most {max_length} characters of lower-case letters, "
        "digits and '-', starting and ending with a letter or digit"
    )
    if not isinstance(value, str) or not DNS1123_LABEL.match(value) or len(value) > max_length:
        return allowed
    return None


def unknown_keys(
    problems: "Problems", raw: "Mapping[str, object]", typed_dict: type, prefix: str = ""
) -> None:
    """Report every key of ``raw`` that ``typed_dict`` does not declare (a typo is never ignored)."""
    allowed = sorted(typed_dict.__annotations__)
    for key in raw:
        if key not in allowed:
            # A misplaced password (``first_admin.password``) is not printed back.
            shown = "[hidden]" if isinstance(key, str) and _SECRET_KEY.search(key) else raw[key]
            problems.add(
                f"{prefix}{key}", shown, f"is not a known argument; known: {', '.join(allowed)}"
            )


_SECRET_KEY = re.compile(r"pass|secret|token|credential|private|api_?key", re.IGNORECASE)


def given_args(problems: "Problems", raw: object, typed_dict: type, field: str) -> "Optional[dict]":
    """An optional args mapping as given: None when absent (or not a mapping, reported), else
    its keys without ``None`` values (None means unset), unknown keys reported."""
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        name = typed_dict.__name__
        problems.add(field, raw, f"must be {'an' if name[0] in 'AEIOU' else 'a'} {name} mapping")
        return None
    given = {k: v for k, v in raw.items() if v is not None}
    unknown_keys(problems, given, typed_dict, f"{field}.")
    return given


_STORAGE_CLASS = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")


def storage_problems(
    problems: "Problems", field: str, size: object, storage_class: object, example: str
) -> None:
    """A claim's size (a positive whole number of bytes) and its StorageClass name."""

    try:
        amount = parse_quantity(size)
        if amount <= 0 or amount.denominator != 1:
            raise QuantityError(size)
    except QuantityError:
        problems.add(
            f"{field}.storage_size",
            size,
            f"must be a positive whole-byte quantity such as '{example}'",
        )
    if storage_class is not None and (
        not isinstance(storage_class, str) or not _STORAGE_CLASS.match(storage_class)
    ):
        problems.add(
            f"{field}.storage_class",
            storage_class,
            "must be a StorageClass name (DNS-1123 subdomain)",
        )


# A DNS name (RFC 1123 labels, 253 characters at most).
HOST_NAME = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$"
)


def is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# What the Kubernetes API server can store and accepts, beyond what the JSON schemas say.
#
# The schemas type replicas, ports and seconds as integers but not their width; the API server
# stores them as int32 or int64 and refuses a larger value only when the object is applied, long
# after `pulumi preview` said yes. These are the bounds (k8s.io/api core/v1, apps/v1, batch/v1
# types: ``int32`` / ``int64`` fields) and the rules of probes that validation code in
# k8s.io/kubernetes ``pkg/apis/core/validation`` enforces.

INT32_MAX = 2**31 - 1

INT64_MAX = 2**63 - 1

PORT_MAX = 65535

# Every environment variable and argument of a pod travels in one object; etcd refuses requests
# over 1.5 MiB. The Deployment carries the app's env twice (django and migrate) and the Job once
# more, so the user's env is held far below that.
MAX_ENV_BYTES = 128 * 1024

# A path component on ext4/xfs (the kubelet writes config files there) and a ConfigMap key.
MAX_FILE_NAME_BYTES = 255

MAX_CONFIGMAP_KEY = 253

PROBE_HANDLERS = ("exec", "httpGet", "tcpSocket", "grpc")

# field -> (minimum, maximum) for a probe (validateProbe / ValidateNonnegativeField).
PROBE_NUMBERS = {
    "initialDelaySeconds": (0, INT32_MAX),
    "periodSeconds": (1, INT32_MAX),
    "timeoutSeconds": (1, INT32_MAX),
    "successThreshold": (1, INT32_MAX),
    "failureThreshold": (1, INT32_MAX),
    "terminationGracePeriodSeconds": (1, INT64_MAX),
}

PROBE_FIELDS = PROBE_HANDLERS + tuple(PROBE_NUMBERS)


def _port_problem(port: Any, named_allowed: bool) -> str | None:
    if is_int(port) and 1 <= port <= PORT_MAX:
        return None
    if (
        named_allowed
        and isinstance(port, str)
        and 1 <= len(port) <= 15
        and port.replace("-", "").isalnum()
        and port[0].isalpha()
    ):
        return None
    return "must be a port number from 1 to 65535" + (" or a port name" if named_allowed else "")


def probe_problems(problems: Problems, field: str, probe: Mapping[str, Any], kind: str) -> None:
    """What the API server would refuse in a probe of ``kind`` (startup, liveness, readiness)."""
    for name, (low, high) in PROBE_NUMBERS.items():
        if name in probe and (not is_int(probe[name]) or not low <= probe[name] <= high):
            problems.add(f"{field}.{name}", probe[name], f"must be an integer from {low} to {high}")
    if kind in ("startup", "liveness") and probe.get("successThreshold", 1) != 1:
        problems.add(
            f"{field}.successThreshold", probe["successThreshold"], f"must be 1 for a {kind} probe"
        )
    for handler in PROBE_HANDLERS:
        spec = probe.get(handler)
        if spec is None:
            continue
        where = f"{field}.{handler}"
        if not isinstance(spec, Mapping):
            problems.add(where, spec, "must be a mapping")
            continue
        if handler == "exec":
            command = spec.get("command")
            if (
                not isinstance(command, (list, tuple))
                or not command
                or not all(isinstance(c, str) and c for c in command)
            ):
                problems.add(f"{where}.command", command, "must be a non-empty list of strings")
            continue
        if "port" not in spec:
            problems.add(f"{where}.port", None, "is required: the port the kubelet probes")
            continue
        problem = _port_problem(spec["port"], named_allowed=handler != "grpc")
        if problem:
            problems.add(f"{where}.port", spec["port"], problem)
        if (
            handler == "httpGet"
            and "path" in spec
            and (not isinstance(spec["path"], str) or not spec["path"].startswith("/"))
        ):
            problems.add(
                f"{where}.path", spec["path"], "must be an absolute URL path such as '/ready'"
            )


def given(raw: Mapping[str, Any]) -> dict[str, Any]:
    """An argument set to None counts as not given (hosts and callers pass None for "unset")."""
    return {k: v for k, v in raw.items() if v is not None}


def checked_mapping(problems: Problems, field: str, value: Any) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        problems.add(field, value, "must be a mapping")
        return {}
    return given(value)


def checked_int(problems: Problems, field: str, value: Any, low: int, high: int = INT32_MAX) -> int:
    """An integer in [low, high]; ``high`` defaults to what an int32 API field can store."""
    upper = f" and at most {high}"
    if not is_int(value) or value < low or value > high:
        problems.add(field, value, f"must be an integer of at least {low}{upper}")
        return low
    return value


def checked_choice(problems: Problems, field: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        problems.add(field, value, f"must be one of {', '.join(allowed)}")
        return allowed[0]
    return value


def checked_bool(problems: Problems, field: str, value: Any, default: bool) -> bool:
    """``value`` when it is a boolean; otherwise a problem, and the field's default, so later
    checks go on as if the field had been left out."""
    if not isinstance(value, bool):
        problems.add(field, value, "must be true or false")
        return default
    return value


def checked_image(problems: Problems, field: str, value: Any) -> str:
    problem = image_problem(value)
    if problem:
        problems.add(field, value, problem)
        return ""
    return value


def checked_string_list(problems: Problems, field: str, value: Any) -> Optional[tuple[str, ...]]:
    if value is None:
        return None
    if (
        not isinstance(value, (list, tuple))
        or not value
        or not all(isinstance(v, str) and v for v in value)
    ):
        problems.add(field, value, "must be a non-empty list of non-empty strings")
        return None
    return tuple(value)


def checked_absolute_path(problems: Problems, field: str, value: Any) -> str:
    if not isinstance(value, str) or not value.startswith("/") or ".." in value.split("/"):
        problems.add(field, value, "must be an absolute path without '..'")
        return "/invalid"
    return value.rstrip("/") or "/"


def camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def camelise(value: Any) -> Any:
    """snake_case probe keys to the Kubernetes field names (httpHeaders values are data, kept)."""
    if isinstance(value, Mapping):
        return {camel(k) if isinstance(k, str) else k: camelise(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [camelise(v) for v in value]
    return value


def checked_probe(
    problems: Problems, field: str, value: Any, kind: str = "startup"
) -> Optional[Mapping[str, Any]]:
    if value is None:
        return None
    probe = camelise(checked_mapping(problems, field, value))
    handlers = [h for h in PROBE_HANDLERS if h in probe]
    unknown = sorted(k for k in probe if k not in PROBE_FIELDS)
    if unknown:
        problems.add(
            f"{field}.{unknown[0]}",
            probe[unknown[0]],
            f"is not a probe field; known: {', '.join(PROBE_FIELDS)}",
        )
    if len(handlers) != 1:
        problems.add(field, value, f"must have exactly one of {', '.join(PROBE_HANDLERS)}")
        return None
    before = len(problems.items)
    probe_problems(problems, field, probe, kind)
    return probe if len(problems.items) == before else None

"""Checks on user input that report every problem at once, before any resource exists.

Each problem names the field (a dotted path such as ``sidecars[0].name``), the value given and
what is allowed, so that a user fixing a stack sees the whole list in one ``pulumi preview``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Mapping, Optional

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
        return "must not use ':latest'; pin a version tag or a digest so every pod runs the same code"
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


def unknown_keys(problems: "Problems", raw: "Mapping[str, object]", typed_dict: type, prefix: str = "") -> None:
    """Report every key of ``raw`` that ``typed_dict`` does not declare (a typo is never ignored)."""
    allowed = sorted(typed_dict.__annotations__)
    for key in raw:
        if key not in allowed:
            problems.add(f"{prefix}{key}", raw[key], f"is not a known argument; known: {', '.join(allowed)}")


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


def storage_problems(problems: "Problems", field: str, size: object, storage_class: object, example: str) -> None:
    """A claim's size (a positive whole number of bytes) and its StorageClass name."""
    from .quantities import QuantityError, parse_quantity

    try:
        amount = parse_quantity(size)
        if amount <= 0 or amount.denominator != 1:
            raise QuantityError(size)
    except QuantityError:
        problems.add(f"{field}.storage_size", size, f"must be a positive whole-byte quantity such as '{example}'")
    if storage_class is not None and (not isinstance(storage_class, str) or not _STORAGE_CLASS.match(storage_class)):
        problems.add(f"{field}.storage_class", storage_class, "must be a StorageClass name (DNS-1123 subdomain)")


def is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)

"""The arguments of the task broker (``BrokerArgs``): an in-cluster Valkey (image, storage,
resources, persistence) or an external ``redis://``/``rediss://`` URL without its password,
checked as the client library would parse it. The server, its ACL and its claim are built in
``builders/broker.py``."""

import re
import urllib.parse
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Mapping, NotRequired, Optional, TypedDict

from .checks import Problems, checked_bool, checked_image, given_args, storage_problems
from .quantities import parse_quantity
from .resources import Resources, checked_resources

PROVIDERS = ("in-cluster", "external")

# https://valkey.io/download/releases/v8-1-11/ (2026-10-26) lists valkey/valkey:8.1.11-trixie.
# Checked again 2026-12-02 (#27): a review that found 8.1.10 the newest read a source older than
# that release; 8.1.11 is the newest 8.1 patch. Newer majors exist (9.0.8 and 9.1.4, 2026-11-18):
# moving to one is a deliberate upgrade, not a default change. The image's user is 999, but the
# server runs under any UID that can write its data directory (fsGroup).
DEFAULT_IMAGE = "docker.io/valkey/valkey:8.1.11-trixie"

PORT = 6379

DEFAULT_STORAGE_SIZE = "1Gi"

DEFAULT_RESOURCES = {
    "requests": {"cpu": "50m", "memory": "128Mi"},
    "limits": {"cpu": "500m", "memory": "256Mi"},
}

# Of the memory limit, what the dataset may use: the rest is the server's own overhead
# (buffers, the append-only rewrite's fork).
MAXMEMORY_SHARE = Fraction(3, 4)

_SCHEMES = ("redis", "rediss")

_DB_PATH = re.compile(r"^/?([0-9]|1[0-5])?$")


class BrokerArgs(TypedDict):
    """Where Celery (or any Redis-protocol client) queues its tasks."""

    provider: NotRequired[str]
    """``in-cluster`` (a Valkey StatefulSet) or ``external`` (``url``). Default: ``in-cluster``,
    or ``external`` when ``url`` is given."""
    url: NotRequired[str]
    """External server, ``redis://`` or ``rediss://`` (TLS) host, port and database, no password:
    the component generates it. Default: none."""
    image: NotRequired[str]
    """In-cluster server image. Default: ``docker.io/valkey/valkey:8.1.11-trixie``."""
    storage_size: NotRequired[str]
    """Size of the in-cluster server's data claim. Default: ``1Gi``."""
    storage_class: NotRequired[str]
    """StorageClass of that claim. Default: the cluster's default class."""
    resources: NotRequired[Mapping[str, Any]]
    """Requests and limits; ``maxmemory`` is 3/4 of the memory limit. Default: requests 50m/128Mi,
    limits 500m/256Mi."""
    persistence: NotRequired[bool]
    """Append-only file on the claim, so queued tasks survive a restart. Default: ``True``."""


@dataclass(frozen=True)
class BrokerSettings:
    provider: str
    url: Optional[str]
    image: str
    storage_size: str
    storage_class: Optional[str]
    resources: Resources
    persistence: bool

    @property
    def in_cluster(self) -> bool:
        return self.provider == "in-cluster"

    @property
    def maxmemory_bytes(self) -> int:
        return maxmemory_bytes(self.resources, MAXMEMORY_SHARE)


def maxmemory_bytes(resources: Resources, share: Fraction) -> int:
    """What a Valkey server's dataset may use: ``share`` of its memory limit."""
    return int(parse_quantity(dict(resources.limits)["memory"]) * share)


def url_problem(url: Any) -> Optional[str]:
    if not isinstance(url, str):
        return "must be a redis:// or rediss:// URL such as 'rediss://master.shop.cache.amazonaws.com:6379/0'"
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in _SCHEMES or not parts.hostname:
        return "must be a redis:// or rediss:// URL such as 'rediss://master.shop.cache.amazonaws.com:6379/0'"
    if parts.password is not None:
        return "must not carry a password: the component generates it and delivers the URL as a secret file"
    if parts.query or parts.fragment:
        return "must not have a query or fragment (TLS options come from the rediss:// scheme)"
    try:
        _ = parts.port  # urllib parses the port lazily: reading it is the check
    except ValueError:
        return "has a port that is not a number from 1 to 65535"
    if not _DB_PATH.match(parts.path):
        return "must end with a database number from 0 to 15, or nothing"
    return None


def server_choice(
    problems: Problems, raw: Mapping[str, Any], field: str, in_cluster_keys: tuple[str, ...]
) -> tuple[str, Optional[str]]:
    """``provider`` and the external ``url`` of a Redis-protocol server (the broker, the cache):
    in the cluster unless a URL is given; the URL checked as the client library parses it; keys
    of the in-cluster server refused for an external one."""
    provider = raw.get("provider", "external" if "url" in raw else "in-cluster")
    if provider not in PROVIDERS:
        problems.add(f"{field}.provider", provider, f"must be one of {', '.join(PROVIDERS)}")
        provider = "in-cluster"
    url = raw.get("url")
    if provider == "external":
        problem = url_problem(url) if url is not None else "is required with provider external"
        if problem:
            problems.add(f"{field}.url", redacted(url), problem)
        for key in in_cluster_keys:
            if key in raw:
                problems.add(f"{field}.{key}", raw[key], "only applies to the in-cluster server")
    elif url is not None:
        problems.add(f"{field}.url", redacted(url), "only applies with provider external")
    return provider, url if provider == "external" and isinstance(url, str) else None


def normalise(
    problems: Problems,
    raw: Any,
) -> Optional[BrokerSettings]:
    raw = given_args(problems, raw, BrokerArgs, "broker")
    if raw is None:
        return None
    provider, url = server_choice(
        problems,
        raw,
        "broker",
        ("image", "storage_size", "storage_class", "resources", "persistence"),
    )
    size, storage_class = raw.get("storage_size", DEFAULT_STORAGE_SIZE), raw.get("storage_class")
    storage_problems(problems, "broker", size, storage_class, "1Gi")
    persistence = checked_bool(problems, "broker.persistence", raw.get("persistence", True), True)
    settings = BrokerSettings(
        provider=provider,
        url=url,
        image=checked_image(problems, "broker.image", raw.get("image", DEFAULT_IMAGE)),
        storage_size=str(size),
        storage_class=storage_class,
        resources=checked_resources(
            problems, "broker.resources", raw.get("resources"), DEFAULT_RESOURCES
        ),
        persistence=persistence is True,
    )
    if provider == "in-cluster" and "memory" not in dict(settings.resources.limits):
        problems.add(
            "broker.resources.limits.memory", None, "is required: maxmemory is derived from it"
        )
    return settings


def redacted(url: Any) -> Any:
    """A URL as written, but never its password in an error message."""
    if isinstance(url, str):
        parts = urllib.parse.urlsplit(url)
        if parts.password is not None:
            return url.replace(f":{parts.password}@", ":***@", 1)
    return url

"""The arguments of Django's cache (``CacheArgs``): an in-cluster Valkey of its own or an external
``redis://``/``rediss://`` server, never the broker's. The server and its ACL are built in
``builders/cache.py``; the app reads the URL from ``CACHE_URL_FILE``.

Why never the broker: a broker must refuse new tasks when full (``noeviction``) and keep its
queue across restarts; a cache must evict the least recently used keys when full
(``allkeys-lru``) and has nothing worth keeping. ``maxmemory-policy`` is one setting per server,
so the two cannot share one.
"""

import urllib.parse
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Mapping, NotRequired, Optional, TypedDict

from .broker import DEFAULT_IMAGE, PORT, maxmemory_bytes, server_choice
from .checks import Problems, checked_image, given_args
from .resources import Resources, checked_resources

DEFAULT_RESOURCES = {
    "requests": {"cpu": "50m", "memory": "128Mi"},
    "limits": {"cpu": "500m", "memory": "256Mi"},
}

# Without persistence there is no fork for a rewrite: the dataset may use more of the limit than
# the broker's (3/4); the rest is client buffers and the server itself.
MAXMEMORY_SHARE = Fraction(4, 5)


class CacheArgs(TypedDict):
    """Django's cache: a Redis-protocol server that evicts (``allkeys-lru``) and keeps nothing."""

    provider: NotRequired[str]
    """``in-cluster`` (a Valkey Deployment without persistence) or ``external`` (``url``).
    Default: ``in-cluster``, or ``external`` when ``url`` is given."""
    url: NotRequired[str]
    """External server, ``redis://`` or ``rediss://`` (TLS) host, port and database, no password:
    the component generates it (set the server's AUTH token to it). Never the broker's server.
    Default: none."""
    image: NotRequired[str]
    """In-cluster server image. Default: ``docker.io/valkey/valkey:8.1.11-trixie`` (the broker's)."""
    resources: NotRequired[Mapping[str, Any]]
    """Requests and limits; ``maxmemory`` is 4/5 of the memory limit. Default: requests
    50m/128Mi, limits 500m/256Mi."""


@dataclass(frozen=True)
class CacheSettings:
    provider: str
    url: Optional[str]
    image: str
    resources: Resources

    @property
    def in_cluster(self) -> bool:
        return self.provider == "in-cluster"

    @property
    def maxmemory_bytes(self) -> int:
        return maxmemory_bytes(self.resources, MAXMEMORY_SHARE)


def normalise(problems: Problems, raw: Any) -> Optional[CacheSettings]:
    raw = given_args(problems, raw, CacheArgs, "cache")
    if raw is None:
        return None
    provider, url = server_choice(problems, raw, "cache", ("image", "resources"))
    settings = CacheSettings(
        provider=provider,
        url=url,
        image=checked_image(problems, "cache.image", raw.get("image", DEFAULT_IMAGE)),
        resources=checked_resources(
            problems, "cache.resources", raw.get("resources"), DEFAULT_RESOURCES
        ),
    )
    if provider == "in-cluster" and "memory" not in dict(settings.resources.limits):
        problems.add(
            "cache.resources.limits.memory", None, "is required: maxmemory is derived from it"
        )
    return settings


def server_address(url: Optional[str]) -> Optional[tuple[str, int]]:
    """Host and port of an external server's URL (None when it does not parse)."""
    if not isinstance(url, str):
        return None
    parts = urllib.parse.urlsplit(url)
    try:
        return ((parts.hostname or "").lower(), parts.port or PORT)
    except ValueError:
        return None


def broker_problem(cache: Optional[CacheSettings], broker_url: Optional[str]) -> Optional[str]:
    """Why this cache may not be on the broker's server, or None."""
    if cache is None or cache.url is None or broker_url is None:
        return None
    address = server_address(cache.url)
    if address is not None and address == server_address(broker_url):
        return (
            "is the broker's server: a cache must evict (allkeys-lru) and a broker must not "
            "(noeviction), and maxmemory-policy is one per server; give the cache its own server "
            "or leave url out for an in-cluster one"
        )
    return None

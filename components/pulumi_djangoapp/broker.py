"""The task broker: an in-cluster Valkey (Redis protocol) or an external Redis-protocol server.

In the cluster: a one-replica StatefulSet of the official Valkey image (BSD-licensed; Redis 7.4+
is not), PSS restricted with a read-only root. The image cannot read a password from a file
(its entrypoint, ``docker-entrypoint.sh`` in valkey-io/valkey-container, only re-execs as the
``valkey`` user), so the password reaches it as an ACL file from the credentials Secret. Queued
tasks are data: append-only persistence on a claim that outlives the pod, and ``maxmemory`` with
``noeviction`` so a full broker refuses new tasks instead of silently dropping queued ones.

Outside the cluster (ElastiCache, ``rediss://``): the component generates the password and
stores the whole URL like the database's; the server's AUTH token is set to it by its owner.

The app never sees the URL in env: ``BROKER_URL_FILE`` names the secret file that holds it.
"""

import re
import urllib.parse
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable, Mapping, NotRequired, Optional, TypedDict

from .labels import BROKER, labels, selector_labels
from .quantities import parse_quantity
from .security import container, pod_security_context
from .validation import Problems, given_args, storage_problems

PROVIDERS = ("in-cluster", "external")
# https://valkey.io/download/releases/v8-1-11/ (2026-10-26) lists valkey/valkey:8.1.11-trixie.
# Checked again 2026-12-02 (#27): a review that found 8.1.10 the newest read a source older than
# that release; 8.1.11 is the newest 8.1 patch. Newer majors exist (9.0.8 and 9.1.4, 2026-11-18):
# moving to one is a deliberate upgrade, not a default change. The image's user is 999, but the
# server runs under any UID that can write its data directory (fsGroup).
DEFAULT_IMAGE = "docker.io/valkey/valkey:8.1.11-trixie"
BROKER_UID = 10998
PORT = 6379
DATA_MOUNT_PATH = "/data"
ACL_MOUNT_PATH = "/run/secrets/broker"
ACL_KEY = "broker-users.acl"
URL_KEY = "broker-url"
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
    resources: Any  # settings.Resources
    persistence: bool

    @property
    def in_cluster(self) -> bool:
        return self.provider == "in-cluster"

    @property
    def maxmemory_bytes(self) -> int:
        limit = dict(self.resources.limits)["memory"]
        return int(parse_quantity(limit) * MAXMEMORY_SHARE)


def _url_problem(url: Any) -> Optional[str]:
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
        parts.port
    except ValueError:
        return "has a port that is not a number from 1 to 65535"
    if not _DB_PATH.match(parts.path):
        return "must end with a database number from 0 to 15, or nothing"
    return None


def normalise(
    problems: Problems,
    raw: Any,
    resources: Callable[[str, Any, Mapping], Any],
    image: Callable[[str, Any], str],
) -> Optional[BrokerSettings]:
    raw = given_args(problems, raw, BrokerArgs, "broker")
    if raw is None:
        return None
    provider = raw.get("provider", "external" if "url" in raw else "in-cluster")
    if provider not in PROVIDERS:
        problems.add("broker.provider", provider, f"must be one of {', '.join(PROVIDERS)}")
        provider = "in-cluster"
    url = raw.get("url")
    if provider == "external":
        problem = _url_problem(url) if url is not None else "is required with provider external"
        if problem:
            problems.add("broker.url", _redacted(url), problem)
        for key in ("image", "storage_size", "storage_class", "resources", "persistence"):
            if key in raw:
                problems.add(f"broker.{key}", raw[key], "only applies to the in-cluster server")
    elif url is not None:
        problems.add("broker.url", _redacted(url), "only applies with provider external")
    size, storage_class = raw.get("storage_size", DEFAULT_STORAGE_SIZE), raw.get("storage_class")
    storage_problems(problems, "broker", size, storage_class, "1Gi")
    persistence = raw.get("persistence", True)
    if not isinstance(persistence, bool):
        problems.add("broker.persistence", persistence, "must be true or false")
    settings = BrokerSettings(
        provider=provider,
        url=url if provider == "external" and isinstance(url, str) else None,
        image=image("broker.image", raw.get("image", DEFAULT_IMAGE)),
        storage_size=str(size),
        storage_class=storage_class,
        resources=resources("broker.resources", raw.get("resources"), DEFAULT_RESOURCES),
        persistence=persistence is True,
    )
    if provider == "in-cluster" and "memory" not in dict(settings.resources.limits):
        problems.add("broker.resources.limits.memory", None, "is required: maxmemory is derived from it")
    return settings


def _redacted(url: Any) -> Any:
    """A URL as written, but never its password in an error message."""
    if isinstance(url, str):
        parts = urllib.parse.urlsplit(url)
        if parts.password is not None:
            return url.replace(f":{parts.password}@", ":***@", 1)
    return url


# kombu's Redis transport redelivers an unacknowledged message after visibility_timeout, 3600 s
# by default (kombu/transport/redis.py): with acks-late, a SIGKILLed worker's task came back an
# hour later. The component sets it from the processes' grace periods, which the README asks to
# cover the longest task, plus a margin; the app passes it to Celery (the example's settings.py).
VISIBILITY_TIMEOUT_ENV = "BROKER_VISIBILITY_TIMEOUT"
VISIBILITY_MARGIN_SECONDS = 60
DEFAULT_LONGEST_TASK_SECONDS = 120


def visibility_timeout(grace_seconds: "list[int]") -> int:
    """The longest grace period (the longest task) plus a margin: a task still running is never
    redelivered, a killed worker's task comes back minutes later, not an hour."""
    return max(grace_seconds or [DEFAULT_LONGEST_TASK_SECONDS]) + VISIBILITY_MARGIN_SECONDS


def name(app: str) -> str:
    return f"{app}-broker"


def host(app: str, namespace: str) -> str:
    return f"{name(app)}.{namespace}.svc.cluster.local"


def port(b: BrokerSettings) -> int:
    if b.in_cluster or b.url is None:
        return PORT
    return urllib.parse.urlsplit(b.url).port or PORT


def url(b: BrokerSettings, app: str, namespace: str, password: str) -> str:
    """The URL the app reads from its secret file; the password is alphanumeric (no escaping).
    An empty user name authenticates as ``default``, which both an ACL file and a plain AUTH
    token (ElastiCache) accept."""
    if b.in_cluster:
        return f"redis://:{password}@{host(app, namespace)}:{PORT}/0"
    assert b.url is not None
    parts = urllib.parse.urlsplit(b.url)
    user = urllib.parse.quote(parts.username or "", safe="")
    netloc = f"{user}:{password}@{parts.hostname if ':' not in (parts.hostname or '') else f'[{parts.hostname}]'}"
    if parts.port:
        netloc += f":{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path or "/0", "", ""))


def acl_file(password: str) -> str:
    """The ``default`` user with the generated password: every key, channel and command (Celery
    uses lists, pub/sub and Lua scripts); nobody connects without the password."""
    return f"user default on >{password} ~* &* +@all\n"


def server_command(b: BrokerSettings) -> list[str]:
    """Every setting as a flag: no config file to template, and each one is visible in the pod."""
    return [
        "valkey-server",
        "--port", str(PORT),
        "--aclfile", f"{ACL_MOUNT_PATH}/{ACL_KEY}",
        "--dir", DATA_MOUNT_PATH,
        "--maxmemory", str(b.maxmemory_bytes),
        "--maxmemory-policy", "noeviction",
        "--appendonly", "yes" if b.persistence else "no",
        "--appendfsync", "everysec",
        # RDB snapshots only as the AOF's base; no second copy of the queue on its own schedule.
        "--save", "",
    ]  # fmt: skip


def _tcp(period: int, failures: int) -> dict:
    return {"tcpSocket": {"port": "redis"}, "periodSeconds": period, "failureThreshold": failures, "timeoutSeconds": 2}


def _metadata(app: str, namespace: str, object_name: str) -> dict:
    return {"name": object_name, "namespace": namespace, "labels": labels(app, BROKER)}


DATA_VOLUME = "data"


def claim_spec(b: BrokerSettings) -> dict:
    spec: dict = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": b.storage_size}}}
    if b.storage_class:
        spec["storageClassName"] = b.storage_class
    return spec


def data_claim_name(app: str) -> str:
    return f"{DATA_VOLUME}-{name(app)}-0"


def statefulset(b: BrokerSettings, app: str, namespace: str, secret_name: str, pull_policy: str, secret_mode: int) -> dict:
    server = container(
        "valkey",
        b.image,
        pull_policy,
        BROKER_UID,
        command=server_command(b),
        ports=[{"name": "redis", "containerPort": PORT, "protocol": "TCP"}],
        resources=b.resources.manifest(),
        volumeMounts=[
            {"name": DATA_VOLUME, "mountPath": DATA_MOUNT_PATH},
            {"name": "acl", "mountPath": ACL_MOUNT_PATH, "readOnly": True},
        ],
        # Loading a large append-only file takes a while: up to five minutes to first listen.
        startupProbe=_tcp(period=5, failures=60),
        readinessProbe=_tcp(period=10, failures=3),
        livenessProbe=_tcp(period=20, failures=6),
    )
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": _metadata(app, namespace, name(app)),
        "spec": {
            "replicas": 1,
            "serviceName": name(app),
            "selector": {"matchLabels": selector_labels(app, BROKER)},
            "updateStrategy": {"type": "RollingUpdate"},
            "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
            "template": {
                "metadata": {"labels": labels(app, BROKER)},
                "spec": {
                    "serviceAccountName": name(app),
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    # SIGTERM makes the server flush the append-only file before it exits.
                    "terminationGracePeriodSeconds": 60,
                    "securityContext": pod_security_context(BROKER_UID),
                    "containers": [server],
                    "volumes": [
                        {
                            "name": "acl",
                            "secret": {
                                "secretName": secret_name,
                                "defaultMode": secret_mode,
                                "items": [{"key": ACL_KEY, "path": ACL_KEY}],
                            },
                        }
                    ],
                },
            },
            "volumeClaimTemplates": [{"metadata": {"name": DATA_VOLUME}, "spec": claim_spec(b)}],
        },
    }


def service(app: str, namespace: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _metadata(app, namespace, name(app)),
        "spec": {
            "type": "ClusterIP",
            "selector": selector_labels(app, BROKER),
            "ports": [{"name": "redis", "port": PORT, "targetPort": "redis", "protocol": "TCP"}],
        },
    }


def service_account(app: str, namespace: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": _metadata(app, namespace, name(app)),
        "automountServiceAccountToken": False,
    }


def data_claim_patch(b: BrokerSettings, app: str, namespace: str, force_annotation: str) -> dict:
    """Like the database's: the live claim carries size and class; the template is ignored."""
    spec = claim_spec(b)
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {**_metadata(app, namespace, data_claim_name(app)), "annotations": {force_annotation: "true"}},
        "spec": {k: v for k, v in spec.items() if k != "accessModes"},
    }

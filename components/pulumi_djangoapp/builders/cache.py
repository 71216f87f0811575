"""Django's cache: an in-cluster Valkey of its own, or an external Redis-protocol server.

In the cluster: a one-replica Deployment of the broker's image with the opposite policy. A cache
evicts the least recently used keys when full (``allkeys-lru``) and keeps nothing across restarts
(no append-only file, no snapshots, no claim), so a restart is an empty cache, never lost data.
The password reaches it as an ACL file from the credentials Secret, like the broker's (the
image cannot read a password from a file); the app reads the URL from ``CACHE_URL_FILE``.
"""

from __future__ import annotations

import urllib.parse

from ..settings.app import Settings
from ..settings.broker import PORT
from ..settings.cache import CacheSettings
from . import broker, valkey
from .labels import CACHE, labels, selector_labels
from .secret_files import SECRET_FILE_MODE, credentials_secret_name
from .security import container, pod_security_context

CACHE_UID = 10997

ACL_MOUNT_PATH = "/run/secrets/cache"

ACL_KEY = "cache-users.acl"

# The server's working directory: nothing is written there (no persistence), but BGSAVE or a
# replica sync would try; a small memory-backed volume instead of the read-only root.
DATA_MOUNT_PATH = "/data"

DATA_SIZE_LIMIT = "16Mi"


def name(app: str) -> str:
    return f"{app}-cache"


def host(app: str, namespace: str) -> str:
    return f"{name(app)}.{namespace}.svc.cluster.local"


def port(c: CacheSettings) -> int:
    if c.in_cluster or c.url is None:
        return PORT
    return urllib.parse.urlsplit(c.url).port or PORT


def url(c: CacheSettings, app: str, namespace: str, password: str) -> str:
    """The URL the app reads from its secret file (alphanumeric password, no escaping)."""
    if c.in_cluster:
        return f"redis://:{password}@{host(app, namespace)}:{PORT}/0"
    assert c.url is not None
    return broker.external_url(c.url, password)


def acl_file(password: str) -> str:
    return valkey.acl_file(password)


def server_command(c: CacheSettings) -> list[str]:
    return [
        "valkey-server",
        "--port", str(PORT),
        "--aclfile", f"{ACL_MOUNT_PATH}/{ACL_KEY}",
        "--dir", DATA_MOUNT_PATH,
        "--maxmemory", str(c.maxmemory_bytes),
        # Full: drop the least recently used key, whatever its expiry (a cache, not a queue).
        "--maxmemory-policy", "allkeys-lru",
        # Nothing is kept: no append-only file, no snapshots.
        "--appendonly", "no",
        "--save", "",
    ]  # fmt: skip


def _metadata(app: str, namespace: str, object_name: str) -> dict:
    return valkey.metadata(app, namespace, CACHE, object_name)


def deployment(s: Settings) -> dict:
    assert s.cache is not None
    c, app, namespace = s.cache, s.name, s.namespace
    server = container(
        "valkey",
        c.image,
        s.image_pull_policy,
        CACHE_UID,
        command=server_command(c),
        ports=[{"name": "redis", "containerPort": PORT, "protocol": "TCP"}],
        resources=c.resources.manifest(),
        volumeMounts=[
            {"name": "data", "mountPath": DATA_MOUNT_PATH},
            {"name": "acl", "mountPath": ACL_MOUNT_PATH, "readOnly": True},
        ],
        # An empty cache starts in well under a second.
        startupProbe=valkey.tcp_probe(period=1, failures=30),
        readinessProbe=valkey.tcp_probe(period=10, failures=3),
        livenessProbe=valkey.tcp_probe(period=20, failures=3),
    )
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _metadata(app, namespace, name(app)),
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": selector_labels(app, CACHE)},
            # One server at a time: two would split the keys between them during a rollout.
            "strategy": {"type": "Recreate"},
            "template": {
                "metadata": {"labels": labels(app, CACHE)},
                "spec": {
                    "serviceAccountName": name(app),
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    "terminationGracePeriodSeconds": 10,
                    "securityContext": pod_security_context(CACHE_UID),
                    "containers": [server],
                    "volumes": [
                        {
                            "name": "data",
                            "emptyDir": {"medium": "Memory", "sizeLimit": DATA_SIZE_LIMIT},
                        },
                        {
                            "name": "acl",
                            "secret": {
                                "secretName": credentials_secret_name(s),
                                "defaultMode": SECRET_FILE_MODE,
                                "items": [{"key": ACL_KEY, "path": ACL_KEY}],
                            },
                        },
                    ],
                },
            },
        },
    }


def service(s: Settings) -> dict:
    return valkey.service(s.name, s.namespace, CACHE, name(s.name))


def service_account(s: Settings) -> dict:
    return valkey.service_account(s.name, s.namespace, CACHE, name(s.name))

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

from __future__ import annotations

import urllib.parse

from ..settings.app import Settings
from ..settings.broker import PORT, BrokerSettings
from . import valkey
from .labels import BROKER, labels, selector_labels
from .secret_files import SECRET_FILE_MODE, credentials_secret_name
from .security import container, pod_security_context

BROKER_UID = 10998

DATA_MOUNT_PATH = "/data"

ACL_MOUNT_PATH = "/run/secrets/broker"

ACL_KEY = "broker-users.acl"

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
    return external_url(b.url, password)


def external_url(given: str, password: str) -> str:
    """An external server's URL as given (no password) with the generated password."""
    parts = urllib.parse.urlsplit(given)
    user = urllib.parse.quote(parts.username or "", safe="")
    netloc = f"{user}:{password}@{parts.hostname if ':' not in (parts.hostname or '') else f'[{parts.hostname}]'}"
    if parts.port:
        netloc += f":{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path or "/0", "", ""))


def acl_file(password: str) -> str:
    return valkey.acl_file(password)


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


def _metadata(app: str, namespace: str, object_name: str) -> dict:
    return valkey.metadata(app, namespace, BROKER, object_name)


DATA_VOLUME = "data"


def claim_spec(b: BrokerSettings) -> dict:
    spec: dict = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": b.storage_size}},
    }
    if b.storage_class:
        spec["storageClassName"] = b.storage_class
    return spec


def data_claim_name(app: str) -> str:
    return f"{DATA_VOLUME}-{name(app)}-0"


# The users of the ACL file, on the pod template: the server reads the file at start only, so a
# user added (KEDA's scaler) restarts it once, with its queue kept in the append-only file.
ACL_USERS_ANNOTATION = "djangoapp.io/acl-users"


def _template_metadata(s: Settings) -> dict:
    metadata: dict = {"labels": labels(s.name, BROKER)}
    users = ["default"]
    if any(p.queue_autoscaling for p in s.processes):
        users.append("keda-scaler")
    if s.monitoring:
        users.append("metrics-exporter")
    if len(users) > 1:
        metadata["annotations"] = {ACL_USERS_ANNOTATION: ",".join(users)}
    return metadata


def statefulset(s: Settings) -> dict:
    assert s.broker is not None
    b, app, namespace, pull_policy = s.broker, s.name, s.namespace, s.image_pull_policy
    secret_name, secret_mode = credentials_secret_name(s), SECRET_FILE_MODE
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
        startupProbe=valkey.tcp_probe(period=5, failures=60),
        readinessProbe=valkey.tcp_probe(period=10, failures=3),
        livenessProbe=valkey.tcp_probe(period=20, failures=6),
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
            "persistentVolumeClaimRetentionPolicy": {
                "whenDeleted": "Retain",
                "whenScaled": "Retain",
            },
            "template": {
                "metadata": _template_metadata(s),
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


def service(s: Settings) -> dict:
    return valkey.service(s.name, s.namespace, BROKER, name(s.name))


def service_account(s: Settings) -> dict:
    return valkey.service_account(s.name, s.namespace, BROKER, name(s.name))


def data_claim_patch(s: Settings, annotations: dict) -> dict:
    """Like the database's: the live claim carries the size (never the class); the template is ignored."""
    assert s.broker is not None
    app, namespace = s.name, s.namespace
    spec = claim_spec(s.broker)
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {
            **_metadata(app, namespace, data_claim_name(app)),
            "annotations": dict(annotations),
        },
        "spec": {"resources": spec["resources"]},
    }

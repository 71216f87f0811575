"""What the app's Valkey servers share (the broker's StatefulSet, the cache's Deployment): the
Service, the ServiceAccount without a token, the TCP probes, the ``default`` user's ACL line."""

from __future__ import annotations

from ..settings.broker import PORT
from .labels import labels, selector_labels


def metadata(app: str, namespace: str, component: str, object_name: str) -> dict:
    return {"name": object_name, "namespace": namespace, "labels": labels(app, component)}


def tcp_probe(period: int, failures: int) -> dict:
    return {
        "tcpSocket": {"port": "redis"},
        "periodSeconds": period,
        "failureThreshold": failures,
        "timeoutSeconds": 2,
    }


def acl_file(password: str) -> str:
    """The ``default`` user with the generated password: every key, channel and command (Celery
    uses lists, pub/sub and Lua scripts; Django's cache strings and expiry); nobody connects
    without the password."""
    return f"user default on >{password} ~* &* +@all\n"


def service(app: str, namespace: str, component: str, object_name: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(app, namespace, component, object_name),
        "spec": {
            "type": "ClusterIP",
            "selector": selector_labels(app, component),
            "ports": [{"name": "redis", "port": PORT, "targetPort": "redis", "protocol": "TCP"}],
        },
    }


def service_account(app: str, namespace: str, component: str, object_name: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": metadata(app, namespace, component, object_name),
        "automountServiceAccountToken": False,
    }

"""Workers scaled on their queue: a KEDA ``ScaledObject`` per process and one
``TriggerAuthentication`` per app.

Celery on Redis keeps each queue as a Redis list (with priorities, one list per priority step:
``settings/queue_autoscaling.py``). KEDA's redis scaler reads each list's length and asks for
``ceil(length / messages_per_replica)`` pods, between ``min_replicas`` and ``max_replicas``; the
largest trigger wins. It reads the lists as ``keda-scaler``, a user of the broker's ACL file that
may run KEDA's read script and the commands that script calls and nothing else
(pkg/scalers/redis_scaler.go of kedacore/keda runs ``EVAL`` over ``TYPE``, then ``LLEN``,
``ZCARD``, ``SCARD`` or ``HLEN``): it cannot read a message, write or delete. Its name and
generated password are keys of the credentials Secret that the ``TriggerAuthentication`` names:
no password in the ScaledObject, nor in any spec.
"""

from __future__ import annotations

from typing import Any

from ..settings.app import Settings
from ..settings.processes import ProcessSettings
from ..settings.queue_autoscaling import FALLBACK_FAILURES
from . import broker
from .labels import PROCESS, labels
from .secret_files import credentials_secret_name

USERNAME = "keda-scaler"

USERNAME_KEY = "broker-scaler-username"

PASSWORD_KEY = "broker-scaler-password"

# Logging in (go-redis sends HELLO, then AUTH where HELLO is refused), KEDA's liveness PING, its
# read script and what the script calls. Not @connection: that category holds CLIENT LIST and
# CLIENT KILL too, which would let the scaler see and cut the app's connections.
CONNECTION_COMMANDS = ("ping", "hello", "auth")

SCALER_COMMANDS = (*CONNECTION_COMMANDS, "eval", "type", "llen", "zcard", "scard", "hlen")


def scaler_acl_line(password: str) -> str:
    """The scaler's user: its commands only (each call inside a script is checked too)."""
    commands = " ".join(f"+{c}" for c in SCALER_COMMANDS)
    return f"user {USERNAME} on >{password} ~* resetchannels -@all {commands}\n"


def queue_scaled(s: Settings) -> tuple[ProcessSettings, ...]:
    return tuple(p for p in s.processes if p.queue_autoscaling)


def authentication_name(app: str) -> str:
    return f"{app}-broker-scaler"


def trigger_authentication(s: Settings) -> dict:
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "TriggerAuthentication",
        "metadata": {
            "name": authentication_name(s.name),
            "namespace": s.namespace,
            "labels": labels(s.name, PROCESS),
        },
        "spec": {
            "secretTargetRef": [
                {"parameter": "username", "name": credentials_secret_name(s), "key": USERNAME_KEY},
                {"parameter": "password", "name": credentials_secret_name(s), "key": PASSWORD_KEY},
            ]
        },
    }


def scaled_object(s: Settings, process: ProcessSettings, deployment: str) -> dict:
    q = process.queue_autoscaling
    assert q is not None
    address = f"{broker.host(s.name, s.namespace)}:{broker.port(s.broker)}" if s.broker else ""
    triggers: list[dict[str, Any]] = [
        {
            "type": "redis",
            "name": trigger,
            "metadata": {
                "address": address,
                "listName": list_name,
                "listLength": str(q.messages_per_replica),
                "activationListLength": "0",
                "databaseIndex": "0",
            },
            "authenticationRef": {"name": authentication_name(s.name)},
        }
        for trigger, list_name in q.lists()
    ]
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {
            "name": deployment,
            "namespace": s.namespace,
            "labels": labels(s.name, PROCESS),
        },
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": deployment},
            "pollingInterval": q.polling_seconds,
            "cooldownPeriod": q.cooldown_seconds,
            "minReplicaCount": q.min_replicas,
            "maxReplicaCount": q.max_replicas,
            "fallback": {"failureThreshold": FALLBACK_FAILURES, "replicas": q.fallback_replicas},
            "triggers": triggers,
        },
    }

"""The recommended app.kubernetes.io labels, shared by selectors and NetworkPolicies."""

from __future__ import annotations

WEB = "web"

DATABASE = "database"

MIGRATE = "migrate"

SCHEDULE = "schedule"

PROCESS = "process"

BROKER = "broker"

CACHE = "cache"

FIRST_ADMIN = "first-admin"

RUN = "run"

BACKUP = "backup"

DB_ADMIN = "db-admin"

BROKER_EXPORTER = "broker-exporter"

DATABASE_EXPORTER = "database-exporter"

_APP_NAMES = {
    WEB: "django",
    DATABASE: "postgresql",
    MIGRATE: "django",
    SCHEDULE: "django",
    PROCESS: "django",
    BROKER: "valkey",
    CACHE: "valkey",
    FIRST_ADMIN: "django",
    RUN: "django",
    BACKUP: "postgresql",
    DB_ADMIN: "postgresql",
    BROKER_EXPORTER: "redis-exporter",
    DATABASE_EXPORTER: "postgres-exporter",
}


def selector_labels(instance: str, component: str) -> dict[str, str]:
    """Labels that select one component's pods; immutable once a Deployment exists."""
    return {
        "app.kubernetes.io/name": _APP_NAMES[component],
        "app.kubernetes.io/instance": instance,
        "app.kubernetes.io/component": component,
    }


def labels(instance: str, component: str) -> dict[str, str]:
    return {
        **selector_labels(instance, component),
        "app.kubernetes.io/part-of": instance,
        "app.kubernetes.io/managed-by": "pulumi",
    }


def metadata(name: str, namespace: str, instance: str, component: str) -> dict:
    return {"name": name, "namespace": namespace, "labels": labels(instance, component)}


PROCESS_LABEL = "djangoapp.io/process"


def process_selector_labels(instance: str, process: str) -> dict[str, str]:
    """One process's pods: the shared process labels plus its name."""
    return {**selector_labels(instance, PROCESS), PROCESS_LABEL: process}

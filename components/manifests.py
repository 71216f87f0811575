"""Every Kubernetes object of one DjangoApp, in apply order, each with its Pulumi role.

The component registers exactly this list; tests and renders read the same list, so what is
validated is what ``pulumi up`` sends.
"""

from __future__ import annotations

from typing import Any, Mapping

from . import app_pod, database, network_policies, web
from .labels import WEB, labels
from .settings import Settings

# Objects that mount the credentials Secret; they must not start before it exists.
USES_CREDENTIALS = ("deployment", "postgres")


def credentials_secret(s: Settings, values: Mapping[str, Any]) -> dict:
    """The generated credentials; ``values`` are Pulumi secrets (or placeholders in a render)."""
    db = s.database
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": app_pod.credentials_secret_name(s),
            "namespace": s.namespace,
            "labels": labels(s.name, WEB),
        },
        "type": "Opaque",
        "stringData": {
            "username": db.username,
            "database": db.database_name,
            "host": s.database_host,
            "port": str(db.port),
            database.PASSWORD_KEY: values["password"],
            app_pod.DATABASE_URL_KEY: values["database_url"],
            app_pod.SECRET_KEY_KEY: values["secret_key"],
        },
    }


def kubernetes_objects(s: Settings, secret_values: Mapping[str, Any]) -> list[tuple[str, dict]]:
    """``(role, object)`` pairs; the namespace (when owned) comes first."""
    objects: list[tuple[str, dict]] = []
    if s.create_namespace:
        objects.append(("namespace", web.namespace(s)))
    objects += [
        ("credentials", credentials_secret(s, secret_values)),
        ("service-account", web.service_account(s)),
        ("postgres-service-account", database.service_account(s)),
        ("postgres", database.statefulset(s)),
        ("postgres-service", database.service(s)),
        ("postgres-headless-service", database.headless_service(s)),
        ("deployment", app_pod.deployment(s)),
        ("service", web.service(s)),
    ]
    pdb = web.pod_disruption_budget(s)
    if pdb:
        objects.append(("pdb", pdb))
    for policy in network_policies.network_policies(s):
        objects.append(("netpol-" + policy["metadata"]["name"].removeprefix(f"{s.name}-"), policy))
    return objects

"""Every Kubernetes object of one DjangoApp, in apply order, each with its Pulumi role.

The component registers exactly this list; tests and renders read the same list, so what is
validated is what ``pulumi up`` sends.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

from ..settings.app import Settings
from ..settings.config_files import configmap_key
from . import (
    app,
    autoscaling,
    backups,
    broker,
    database,
    fetch,
    network_policies,
    processes,
    rds,
    scanner,
    schedules,
    way_in,
    web,
)
from .fetch import AwsRefs
from .labels import WEB, labels


# Roles whose pods run the app's code and first need its files and permissions.
def runs_the_app(role: str) -> bool:
    return role in ("deployment", "migration-job") or role.startswith(("schedule-", "process-"))

def reads_backups(role: str) -> bool:
    return role == "backup"

def uses_credentials(role: str) -> bool:
    """Objects that mount the credentials Secret; they must not start before it exists."""
    return role in ("postgres", "broker", "backup") or runs_the_app(role)

# Objects registered as server-side apply patches of something the cluster created.
PATCHES = ("postgres-data", "broker-data")

# Objects that hold data: kept (protect, retain on delete) when protect_data is on.
HOLDS_DATA = ("postgres", "broker")

# What ``secret_values`` must hold: generated values, as Pulumi secrets (or render placeholders).
SECRET_VALUES = ("password", "database_url", "database_json", "secret_key")

# ... and with a broker.
BROKER_SECRET_VALUES = ("broker_url", "broker_acl")

def credentials_secret(s: Settings, values: Mapping[str, Any]) -> dict:
    """Postgres' password; with the Kubernetes backend also every file the app reads."""
    data: dict[str, Any] = {database.PASSWORD_KEY: values["password"]}
    if s.broker and s.broker.in_cluster:
        data[broker.ACL_KEY] = values["broker_acl"]
    if s.broker and not s.uses_aws:
        data[fetch.BROKER_URL_KEY] = values["broker_url"]
    if not s.uses_aws:
        db = s.database
        data |= {
            "username": db.username,
            "database": db.database_name,
            "host": s.database_host,
            "port": str(db.port),
            fetch.DATABASE_JSON_KEY: values["database_json"],
            fetch.DATABASE_URL_KEY: values["database_url"],
            fetch.SECRET_KEY_KEY: values["secret_key"],
        }
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": app.credentials_secret_name(s),
            "namespace": s.namespace,
            "labels": labels(s.name, WEB),
        },
        "type": "Opaque",
        "stringData": data,
    }

def config_map(s: Settings) -> dict:
    """The config files when there is no bucket (Kubernetes backend)."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": app.config_map_name(s), "namespace": s.namespace, "labels": labels(s.name, WEB)},
        "data": {configmap_key(name): content for name, content in s.config_files},
    }

def kubernetes_objects(
    s: Settings, secret_values: Mapping[str, Any], refs: Optional[AwsRefs] = None, backup_refs: Optional[AwsRefs] = None
) -> list[tuple[str, dict]]:
    """``(role, object)`` pairs; the namespace (when owned) comes first."""
    objects: list[tuple[str, dict]] = []
    if s.create_namespace:
        objects.append(("namespace", web.namespace(s)))
    # With Secrets Manager and no server in the cluster nothing there needs a Secret.
    if not (s.uses_aws and s.database.external and not (s.broker and s.broker.in_cluster)):
        objects.append(("credentials", credentials_secret(s, secret_values)))
    if not s.uses_aws:
        objects.append(("config", config_map(s)))
    objects.append(("service-account", web.service_account(s)))
    if not s.database.external:
        objects += [
            ("postgres-service-account", database.service_account(s)),
            ("postgres", database.statefulset(s)),
            ("postgres-service", database.service(s)),
            ("postgres-headless-service", database.headless_service(s)),
            ("postgres-data", database.data_claim_patch(s)),
        ]
    if s.broker and s.broker.in_cluster:
        b, pull = s.broker, s.image_pull_policy
        objects += [
            ("broker-service-account", broker.service_account(s.name, s.namespace)),
            ("broker", broker.statefulset(b, s.name, s.namespace, app.credentials_secret_name(s), pull, app.SECRET_FILE_MODE)),
            ("broker-service", broker.service(s.name, s.namespace)),
            ("broker-data", broker.data_claim_patch(b, s.name, s.namespace, database.PATCH_FORCE_ANNOTATION)),
        ]
    if s.database.provider == "rds":
        if refs is None or refs.master_secret_arn is None or refs.db_admin_role_arn is None:
            raise ValueError("an RDS database needs its master secret and address (AwsRefs)")
        objects += [("db-admin-service-account", rds.service_account(s)), ("db-role", rds.role_job(s, refs))]
    job = app.migration_job(s, refs)
    if job:
        objects.append(("migration-job", job))
    objects += [
        ("deployment", app.deployment(s, refs)),
        ("service", web.service(s)),
    ]
    objects += schedules.schedule_cron_jobs(s, refs)
    objects += processes.process_deployments(s, refs)
    if s.backups:
        if backup_refs is None:
            raise ValueError("backups need the backup bucket and role (AwsRefs)")
        objects += [
            ("backup-service-account", backups.service_account(s)),
            ("restore-service-account", backups.restore_service_account(s)),
            ("backup", backups.cron_job(s, backup_refs)),
        ]
    if s.way_in and s.way_in.kind == "ingress":
        objects.append(("ingress", way_in.ingress_object(s.way_in, s.name, s.namespace, s.name, s.port, s.health_path, s.ip_family)))
    elif s.way_in:
        objects.append(("http-route", way_in.http_route_object(s.way_in, s.name, s.namespace, s.name, s.port)))
    if s.autoscaling:
        objects.append(("hpa", autoscaling.horizontal_pod_autoscaler(s.autoscaling, s.name, s.namespace, s.name)))
    for process in s.processes:
        hpa = processes.horizontal_pod_autoscaler(s.name, s.namespace, process)
        if hpa:
            objects.append((f"hpa-{process.name}", hpa))
    for _, obj in objects:
        if obj["kind"] in ("Deployment", "StatefulSet", "Job"):
            scanner.annotate(obj, obj["spec"]["template"]["spec"])
        elif obj["kind"] == "CronJob":
            scanner.annotate(obj, obj["spec"]["jobTemplate"]["spec"]["template"]["spec"])
    pdb = web.pod_disruption_budget(s)
    if pdb:
        objects.append(("pdb", pdb))
    for process in s.processes:
        pdb = processes.pod_disruption_budget(s.name, s.namespace, process)
        if pdb:
            objects.append((f"pdb-{process.name}", pdb))
    for policy in network_policies.network_policies(s, refs):
        objects.append(("netpol-" + policy["metadata"]["name"].removeprefix(f"{s.name}-"), policy))
    return objects

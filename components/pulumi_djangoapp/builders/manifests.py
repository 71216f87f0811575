"""Every Kubernetes object of one DjangoApp, in apply order, each with its Pulumi role.

The component registers exactly this list; tests and renders read the same list, so what is
validated is what ``pulumi up`` sends.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Collection, Mapping, Optional

from ..settings.app import Settings
from ..settings.config_files import configmap_key
from ..settings.secret_files import (
    ADMIN_PASSWORD,
    BROKER_URL,
    CACHE_URL,
    DATABASE_JSON,
    DATABASE_URL,
    EMAIL_URL,
    SECRET_KEY,
)
from . import (
    alerts,
    app,
    autoscaling,
    backups,
    broker,
    cache,
    database,
    first_admin,
    monitoring,
    network_policies,
    processes,
    queue_autoscaling,
    rds,
    release_gate,
    restore_drill,
    scanner,
    schedules,
    way_in,
    web,
)
from .fetch import AwsRefs
from .labels import WEB, labels
from .secret_files import credentials_secret_name


@dataclass(frozen=True)
class Facts:
    """What registering a built object involves, decided where the object is built: the
    component's loop reads these instead of knowing roles by name."""

    pod_kind: Optional[str] = None
    """Its pod template's effective resources are reported under this kind (``effective_resources``)."""
    runs_app: bool = False
    """Runs the app's code: first needs its files, its cloud permissions and its database role."""
    mounts_credentials: bool = False
    """Mounts the credentials Secret, so it must not start before the Secret exists."""
    reads_backups: bool = False
    """Reads or writes the backup bucket, so it waits for the bucket and its role."""
    holds_data: bool = False
    """Holds data: protected and retained under ``protect_data``; its claim templates are not diffed."""
    patches: Optional[str] = None
    """A server-side apply patch of what the object of this role created (a StatefulSet's claim)."""
    storage_class: Optional[str] = None
    """The class the stack names for the patched claim: warned about when the live one differs."""
    replace_on_change: bool = False
    """A Job: its template is immutable, so a change Pulumi sees replaces it."""
    await_seconds: Optional[int] = None
    """How long a create or update may legitimately take; ``pulumi up`` waits that long plus a margin."""
    after_migrations: bool = False
    """Rolls out only once the migration Job (when there is one) completed."""
    creates_db_role: bool = False
    """The RDS role Job: waits for the instance, the master secret, the app's secret and the admin role."""
    after_process: Optional[str] = None
    """The role of the workload it scales or reads from: registered after it (ready)."""
    after_database: bool = False
    """Connects to the in-cluster server as soon as it starts: registered after its StatefulSet is ready."""
    ignore_changes: tuple[str, ...] = ()
    """Fields Pulumi must not diff (the replica count an autoscaler owns)."""


# pulumi-kubernetes awaits a Job or Deployment for 10 minutes by default; the Job's own
# deadline and a first start that waits for the database and the migration lock can be longer.
AWAIT_MARGIN_SECONDS = 300


def await_minutes(seconds: int) -> int:
    """How long `pulumi up` waits for an object whose rollout may take ``seconds``: longer than it
    can legitimately take, so Pulumi never gives up on one the cluster would still complete."""
    return -(-(seconds + AWAIT_MARGIN_SECONDS) // 60)


@dataclass(frozen=True)
class Built:
    """One Kubernetes object of the app, registered as ``<name>-<role>``, with its facts."""

    role: str
    object: dict
    facts: Facts = Facts()


# What ``secret_values`` must hold: generated values, as Pulumi secrets (or render placeholders).
SECRET_VALUES = ("password", "database_url", "database_json", "secret_key")

# ... and with a broker, a cache, mail.
BROKER_SECRET_VALUES = ("broker_url", "broker_acl")
CACHE_SECRET_VALUES = ("cache_url", "cache_acl")
MAIL_SECRET_VALUES = ("email_url",)
ADMIN_SECRET_VALUES = ("admin_password",)
DRILL_SECRET_VALUES = ("drill_password", "drill_password_verifier")
SCALER_SECRET_VALUES = ("broker_scaler_password", "broker_exporter_passwords")
MONITOR_SECRET_VALUES = ("monitor_password", "monitor_password_verifier")
FEATURE_SECRET_VALUES = (
    *BROKER_SECRET_VALUES, *CACHE_SECRET_VALUES, *MAIL_SECRET_VALUES, *ADMIN_SECRET_VALUES,
    *DRILL_SECRET_VALUES, *SCALER_SECRET_VALUES, *MONITOR_SECRET_VALUES,
)  # fmt: skip


def credentials_secret(s: Settings, values: Mapping[str, Any]) -> dict:
    """Postgres' password; with the Kubernetes backend also every file the app reads."""
    data: dict[str, Any] = {database.PASSWORD_KEY: values["password"]}
    if s.broker and s.broker.in_cluster:
        data[broker.ACL_KEY] = values["broker_acl"]
    if s.broker and not s.uses_aws:
        data[BROKER_URL.key] = values["broker_url"]
    if queue_autoscaling.queue_scaled(s):
        data[queue_autoscaling.USERNAME_KEY] = queue_autoscaling.USERNAME
        data[queue_autoscaling.PASSWORD_KEY] = values["broker_scaler_password"]
    if monitoring.exported(s):
        data[monitoring.EXPORTER_PASSWORDS_KEY] = values["broker_exporter_passwords"]
    if monitoring.database_exported(s):
        data[monitoring.MONITOR_PASSWORD_KEY] = values["monitor_password"]
        data[monitoring.MONITOR_VERIFIER_KEY] = values["monitor_password_verifier"]
    if s.cache and s.cache.in_cluster:
        data[cache.ACL_KEY] = values["cache_acl"]
    if s.cache and not s.uses_aws:
        data[CACHE_URL.key] = values["cache_url"]
    if s.mail and not s.uses_aws:
        data[EMAIL_URL.key] = values["email_url"]
    if s.first_admin and not s.uses_aws:
        data[ADMIN_PASSWORD.key] = values["admin_password"]
    if s.backups and s.backups.restore_drill:
        data[restore_drill.PASSWORD_KEY] = values["drill_password"]
        data[restore_drill.VERIFIER_KEY] = values["drill_password_verifier"]
    if not s.uses_aws:
        db = s.database
        data |= {
            "username": db.username,
            "database": db.database_name,
            "host": s.database_host,
            "port": str(db.port),
            DATABASE_JSON.key: values["database_json"],
            DATABASE_URL.key: values["database_url"],
            SECRET_KEY.key: values["secret_key"],
        }
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": credentials_secret_name(s),
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
        "metadata": {
            "name": app.config_map_name(s),
            "namespace": s.namespace,
            "labels": labels(s.name, WEB),
        },
        "data": {configmap_key(name): content for name, content in s.config_files},
    }


def in_cluster_servers(s: Settings) -> bool:
    """A broker or a cache in the cluster: their ACL files come from the credentials Secret."""
    return bool((s.broker and s.broker.in_cluster) or (s.cache and s.cache.in_cluster))


def waits_for(built: Built, earlier: Collection[str]) -> list[str]:
    """The roles of this app's own objects that ``built`` is registered after (``earlier``: the
    roles registered before it). The AWS resources a fact also waits for are the component's."""
    facts = built.facts
    roles = ["namespace"] if "namespace" in earlier else []
    if facts.mounts_credentials and "credentials" in earlier:
        roles.append("credentials")
    if facts.patches:
        # The claim exists once the StatefulSet's pod does (Pulumi awaits it ready).
        roles.append(facts.patches)
    if facts.after_database and "postgres" in earlier:
        roles.append("postgres")
    if facts.after_process and facts.after_process in earlier:
        roles.append(facts.after_process)
    if facts.runs_app and not facts.creates_db_role and "db-role" in earlier:
        # The app's role and database exist before anything connects or migrates.
        roles.append("db-role")
    if facts.after_migrations and "migration-job" in earlier:
        # Pulumi waits for the Job to complete before it rolls out the new pods.
        roles.append("migration-job")
    if facts.after_migrations and "release-gate" in earlier:
        # ...and for the rollback gate: a refused image never reaches a pod template.
        roles.append("release-gate")
    return roles


def kubernetes_objects(
    s: Settings,
    secret_values: Mapping[str, Any],
    refs: Optional[AwsRefs] = None,
    backup_refs: Optional[AwsRefs] = None,
) -> list[tuple[str, dict]]:
    """``(role, object)`` pairs of :func:`built_objects`."""
    return [(b.role, b.object) for b in built_objects(s, secret_values, refs, backup_refs)]


def built_objects(
    s: Settings,
    secret_values: Mapping[str, Any],
    refs: Optional[AwsRefs] = None,
    backup_refs: Optional[AwsRefs] = None,
) -> list[Built]:
    """Every object with its registration facts, in apply order; the namespace (when owned) first."""
    objects: list[Built] = []
    if s.create_namespace:
        objects.append(Built("namespace", web.namespace(s)))
    # With Secrets Manager and no server in the cluster nothing there needs a Secret.
    if not (s.uses_aws and s.database.external and not in_cluster_servers(s)):
        objects.append(Built("credentials", credentials_secret(s, secret_values)))
    if not s.uses_aws:
        objects.append(Built("config", config_map(s)))
    objects.append(Built("service-account", web.service_account(s)))
    server = Facts(
        holds_data=True,
        mounts_credentials=True,
        ignore_changes=(database.IMMUTABLE_CLAIM_TEMPLATES,),
    )
    if not s.database.external:
        objects += [
            Built("postgres-service-account", database.service_account(s)),
            Built(
                "postgres",
                database.statefulset(s),
                dataclasses.replace(server, pod_kind="postgres"),
            ),
            Built("postgres-service", database.service(s)),
            Built("postgres-headless-service", database.headless_service(s)),
            Built(
                "postgres-data",
                database.data_claim_patch(s),
                Facts(patches="postgres", storage_class=s.database.storage_class),
            ),
        ]
    if s.broker and s.broker.in_cluster:
        objects += [
            Built("broker-service-account", broker.service_account(s)),
            Built("broker", broker.statefulset(s), dataclasses.replace(server, pod_kind="broker")),
            Built("broker-service", broker.service(s)),
            Built(
                "broker-data",
                broker.data_claim_patch(s, database.CLAIM_PATCH_ANNOTATIONS),
                Facts(patches="broker", storage_class=s.broker.storage_class),
            ),
        ]
    if s.cache and s.cache.in_cluster:
        objects += [
            Built("cache-service-account", cache.service_account(s)),
            Built("cache", cache.deployment(s), Facts(pod_kind="cache", mounts_credentials=True)),
            Built("cache-service", cache.service(s)),
        ]
    if s.database.provider == "rds":
        if refs is None or refs.master_secret_arn is None or refs.db_admin_role_arn is None:
            raise ValueError("an RDS database needs its master secret and address (AwsRefs)")
        role_job = Facts(
            pod_kind="db-role",
            replace_on_change=True,
            await_seconds=rds.ROLE_JOB_DEADLINE_SECONDS,
            creates_db_role=True,
        )
        objects += [
            Built("db-admin-service-account", rds.service_account(s)),
            Built("db-role", rds.role_job(s, refs), role_job),
        ]
    runs_app = Facts(runs_app=True, mounts_credentials=True)
    gate = release_gate.job(s, refs)
    if gate:
        objects.append(
            Built(
                "release-gate",
                gate,
                dataclasses.replace(
                    runs_app,
                    pod_kind="release-gate",
                    replace_on_change=True,
                    await_seconds=release_gate.deadline_seconds(s),
                ),
            )
        )
    job = app.migration_job(s, refs)
    if job:
        objects.append(
            Built(
                "migration-job",
                job,
                dataclasses.replace(
                    runs_app,
                    pod_kind="migrate",
                    replace_on_change=True,
                    await_seconds=s.migrations.job_deadline_seconds,
                ),
            )
        )
    web_facts = dataclasses.replace(
        runs_app,
        pod_kind="web",
        after_migrations=True,
        await_seconds=app.await_seconds(s),
        ignore_changes=("spec.replicas",) if s.autoscaling else (),
    )
    objects += [
        Built("deployment", app.deployment(s, refs), web_facts),
        Built("service", web.service(s)),
    ]
    objects += [
        # After the migration Job and the rollback gate, like the Deployments: a refused image
        # never reaches a schedule's template either.
        Built(role, cron_job, dataclasses.replace(runs_app, pod_kind=role, after_migrations=True))
        for role, cron_job in schedules.schedule_cron_jobs(s, refs)
    ]
    for process, (role, deployment) in zip(
        s.processes, processes.process_deployments(s, refs), strict=True
    ):
        facts = dataclasses.replace(
            runs_app,
            pod_kind=role,
            after_migrations=True,
            await_seconds=processes.await_seconds(s),
            ignore_changes=("spec.replicas",)
            if process.autoscaling or process.queue_autoscaling
            else (),
        )
        objects.append(Built(role, deployment, facts))
    if s.first_admin:
        objects.append(
            Built(
                "first-admin",
                first_admin.job(s, refs),
                dataclasses.replace(
                    runs_app,
                    pod_kind="first-admin",
                    after_migrations=True,
                    await_seconds=first_admin.deadline_seconds(s),
                    # Created once: a new image or setting never runs it again (a failed one is
                    # replaced by the next up: pulumi.com/replaceUnready).
                    ignore_changes=("spec",),
                ),
            )
        )
    if s.backups:
        if backup_refs is None:
            raise ValueError("backups need the backup bucket and role (AwsRefs)")
        objects += [
            Built("backup-service-account", backups.service_account(s)),
            Built("restore-service-account", backups.restore_service_account(s)),
            Built(
                "backup",
                backups.cron_job(s, backup_refs),
                Facts(pod_kind="backup", mounts_credentials=True, reads_backups=True),
            ),
        ]
        if s.backups.restore_drill:
            objects += [
                Built(
                    "drill-role",
                    restore_drill.role_job(s),
                    Facts(
                        pod_kind="drill-role",
                        mounts_credentials=True,
                        after_database=True,
                        replace_on_change=True,
                        await_seconds=restore_drill.ROLE_JOB_DEADLINE_SECONDS,
                    ),
                ),
                Built(
                    "restore-drill",
                    restore_drill.cron_job(s, restore_drill.restore_refs(backup_refs)),
                    Facts(pod_kind="restore-drill", mounts_credentials=True, reads_backups=True),
                ),
            ]
    if s.way_in and s.way_in.kind == "ingress":
        objects.append(Built("ingress", way_in.ingress_object(s)))
    elif s.way_in:
        objects.append(Built("http-route", way_in.http_route_object(s)))
    if s.autoscaling:
        objects.append(
            Built(
                "hpa",
                autoscaling.horizontal_pod_autoscaler(s.autoscaling, s.name, s.namespace, s.name),
            )
        )
    for process in s.processes:
        hpa = processes.horizontal_pod_autoscaler(s.name, s.namespace, process)
        if hpa:
            objects.append(Built(f"hpa-{process.name}", hpa))
    if queue_autoscaling.queue_scaled(s):
        # KEDA reads the queue through the credentials Secret's scaler keys.
        objects.append(
            Built(
                "broker-scaler",
                queue_autoscaling.trigger_authentication(s),
                Facts(mounts_credentials=True),
            )
        )
    for process in queue_autoscaling.queue_scaled(s):
        name = processes.deployment_name(s.name, process)
        objects.append(
            Built(
                f"scaled-{process.name}",
                queue_autoscaling.scaled_object(s, process, name),
                Facts(after_process=f"process-{process.name}"),
            )
        )
    if monitoring.database_exported(s):
        objects += [
            Built(
                "monitor-role",
                monitoring.monitor_role_job(s),
                Facts(
                    pod_kind="monitor-role",
                    mounts_credentials=True,
                    after_database=True,
                    replace_on_change=True,
                    await_seconds=rds.ROLE_JOB_DEADLINE_SECONDS,
                ),
            ),
            Built(
                "postgres-exporter",
                monitoring.database_exporter(s),
                Facts(
                    pod_kind="postgres-exporter",
                    mounts_credentials=True,
                    after_process="monitor-role",
                ),
            ),
        ]
    if monitoring.exported(s):
        objects.append(
            Built(
                "broker-exporter",
                monitoring.broker_exporter(s),
                Facts(pod_kind="broker-exporter", mounts_credentials=True, after_process="broker"),
            )
        )
    objects += [
        Built(f"podmonitor-{role}", monitor) for role, monitor in monitoring.pod_monitors(s)
    ]
    rule = alerts.prometheus_rule(s)
    if rule:
        objects.append(Built("alerts", rule))
    for built in objects:
        template = pod_template(built.object)
        if template is not None:
            scanner.annotate(built.object, template)
    pdb = web.pod_disruption_budget(s)
    if pdb:
        objects.append(Built("pdb", pdb))
    for process in s.processes:
        pdb = processes.pod_disruption_budget(s.name, s.namespace, process)
        if pdb:
            objects.append(Built(f"pdb-{process.name}", pdb))
    for policy in network_policies.network_policies(s, refs):
        objects.append(
            Built("netpol-" + policy["metadata"]["name"].removeprefix(f"{s.name}-"), policy)
        )
    return objects


def pod_template(obj: Mapping[str, Any]) -> Optional[Mapping[str, Any]]:
    """The pod spec an object's controller creates pods from, or None for objects without pods."""
    if obj["kind"] in ("Deployment", "StatefulSet", "Job"):
        return obj["spec"]["template"]["spec"]
    if obj["kind"] == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return None

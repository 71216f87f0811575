"""The Django pod: native sidecars, then wait-for-db and migrate, then gunicorn.

Pure functions from ``Settings`` to Kubernetes objects (camelCase dicts, exactly as applied), so
the pod can be tested, rendered and validated without Pulumi.
"""

from __future__ import annotations

from typing import Iterable, Optional

from ..settings import mail
from ..settings.app import WAIT_FOR_DB_RESOURCES, Settings
from ..settings.config_files import configmap_key
from ..settings.secret_files import APP_ENV_ORDER
from ..settings.sidecars import SidecarSettings
from . import broker, deploy_check, fetch, media, migrations, way_in
from .fetch import AwsRefs
from .labels import WEB, labels, selector_labels
from .secret_files import SECRET_FILE_MODE, credentials_secret_name
from .security import container, pod_security_context

LOGS_MOUNT_PATH = "/var/log/app"

# The app container's startup probe allows this long (60 failures, every 2 s).
STARTUP_SECONDS = 120

TMP_MOUNT_PATH = "/tmp"

SECRETS_VOLUME = "secrets"

CONFIG_HASH_ANNOTATION = "djangoapp.io/config-hash"

# Runs in the Postgres image, which ships pg_isready. Bounded, so a database that never comes up
# fails the pod with a message instead of hanging the rollout (and `pulumi up`) silently.
WAIT_FOR_DB_SCRIPT = """\
deadline=$(( $(date +%s) + DB_WAIT_TIMEOUT ))
until pg_isready --quiet -h "$DB_HOST" -p "$DB_PORT" -U "$DB_USER" -d "$DB_NAME" -t 2; do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "wait-for-db: PostgreSQL at $DB_HOST:$DB_PORT did not accept connections within ${DB_WAIT_TIMEOUT}s; giving up" >&2
    exit 1
  fi
  echo "wait-for-db: waiting for PostgreSQL at $DB_HOST:$DB_PORT"
  sleep 2
done
echo "wait-for-db: PostgreSQL at $DB_HOST:$DB_PORT accepts connections"
"""


def config_map_name(s: Settings) -> str:
    return f"{s.name}-config"


def env_list(pairs: Iterable[tuple[str, str]]) -> list[dict]:
    return [{"name": k, "value": v} for k, v in pairs]


def app_env(s: Settings) -> list[dict]:
    """The user's variables, then the component's: secrets only as paths to files."""
    managed = (
        ("DJANGO_CONFIG_DIR", s.config_mount_path),
        *(
            (f.file_env, f"{s.secrets_mount_path}/{f.key}")
            for f in APP_ENV_ORDER
            if f in s.secret_files
        ),
        *(
            (
                (
                    broker.VISIBILITY_TIMEOUT_ENV,
                    str(
                        broker.visibility_timeout(
                            [p.termination_grace_seconds for p in s.processes]
                        )
                    ),
                ),
            )
            if s.broker
            else ()
        ),
        ("DJANGO_LOG_DIR", LOGS_MOUNT_PATH),
        ("WEB_CONCURRENCY", str(s.workers)),
        ("PYTHONUNBUFFERED", "1"),
        # The root filesystem is read-only; do not try to write .pyc files.
        ("PYTHONDONTWRITEBYTECODE", "1"),
        *way_in.django_env(s.way_in, s.probe_host, s.network_policies, s.hsts),
        *(
            (
                (mail.DEFAULT_FROM_EMAIL_ENV, s.mail.default_from_email),
                (mail.SERVER_EMAIL_ENV, s.mail.server_email),
            )
            if s.mail
            else ()
        ),
        # The path the app answers before host validation (load balancer health checks).
        ("DJANGO_HEALTH_PATH", s.health_path),
    )
    # The pod's own address, for ALLOWED_HOSTS-free health checks and logs.
    pod_ip = {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}
    return [*env_list((*s.env, *managed)), pod_ip]


def _app_mounts(s: Settings) -> list[dict]:
    return [
        {"name": "config", "mountPath": s.config_mount_path, "readOnly": True},
        {"name": SECRETS_VOLUME, "mountPath": s.secrets_mount_path, "readOnly": True},
        {"name": "tmp", "mountPath": TMP_MOUNT_PATH},
        {"name": "logs", "mountPath": LOGS_MOUNT_PATH},
    ]


def _http_probe(s: Settings, period: int, failures: int, timeout: int) -> dict:
    return {
        "httpGet": {
            "path": s.health_path,
            "port": "http",
            # Django answers 400 to a Host outside ALLOWED_HOSTS; the kubelet would send the pod IP.
            "httpHeaders": [{"name": "Host", "value": s.probe_host}],
        },
        "periodSeconds": period,
        "failureThreshold": failures,
        "timeoutSeconds": timeout,
    }


def _pre_stop(s: Settings) -> dict:
    # Keep serving while the endpoint removal reaches every node. The sleep action (on by
    # default from 1.30, below the oldest supported version) needs no `sleep` binary in the image.
    return {"sleep": {"seconds": s.pre_stop_seconds}}


def django_container(s: Settings) -> dict:
    return container(
        "django",
        s.image,
        s.image_pull_policy,
        s.run_as_user,
        command=list(s.command),
        ports=[{"name": "http", "containerPort": s.port, "protocol": "TCP"}],
        env=app_env(s),
        resources=s.resources.manifest(),
        volumeMounts=_app_mounts(s),
        # Up to 120 s to boot; after that readiness gates traffic and liveness restarts a hang.
        startupProbe=_http_probe(s, period=2, failures=60, timeout=2),
        readinessProbe=_http_probe(s, period=10, failures=3, timeout=2),
        livenessProbe=_http_probe(s, period=20, failures=3, timeout=3),
        lifecycle={"preStop": _pre_stop(s)},
    )


def wait_for_db_container(s: Settings, refs: Optional[AwsRefs] = None) -> dict:
    db = s.database
    host = s.database_host
    if db.provider == "rds":
        if refs is None or refs.database_host is None:
            raise ValueError("an RDS database needs its address (AwsRefs.database_host)")
        host = refs.database_host
    return container(
        "wait-for-db",
        db.image,
        s.image_pull_policy,
        s.run_as_user,
        command=["sh", "-c", WAIT_FOR_DB_SCRIPT],
        env=env_list(
            (
                ("DB_HOST", host),
                ("DB_PORT", str(db.port)),
                ("DB_USER", db.username),
                ("DB_NAME", db.database_name),
                ("DB_WAIT_TIMEOUT", str(s.db_wait_timeout_seconds)),
            )
        ),
        resources=WAIT_FOR_DB_RESOURCES,
    )


def app_process(s: Settings) -> dict:
    """What every container running the app's code shares: env, mounts, resources."""
    return {"env": app_env(s), "volumeMounts": _app_mounts(s), "resources": s.resources.manifest()}


def migration_step(s: Settings) -> list[dict]:
    """The last init step: migrate under the lock, wait for the Job, or nothing."""
    mode = s.migrations.mode
    if mode == "init-container":
        return [migrations.migrate_container(s, app_process(s))]
    if mode == "job":
        return [migrations.wait_for_migrations_container(s, app_process(s))]
    # Nothing migrates: the release gate runs on its own, so a release that fails it never serves.
    if s.deploy_check.enabled:
        return [deploy_check.check_container(s, app_process(s))]
    return []


def sidecar_tmp_volume(sidecar: SidecarSettings) -> str:
    return f"tmp-{sidecar.name}"


def sidecar_container(s: Settings, sidecar: SidecarSettings) -> dict:
    """A native sidecar: ``restartPolicy: Always`` in initContainers. Every supported version
    has them, so a Job's sidecars never keep it running."""
    optional = {
        "restartPolicy": "Always",
        "command": list(sidecar.command) if sidecar.command else None,
        "args": list(sidecar.args) if sidecar.args else None,
        "env": env_list(sidecar.env) if sidecar.env else None,
        "ports": [{"containerPort": p, "protocol": "TCP"} for p in sidecar.ports] or None,
        "startupProbe": dict(sidecar.startup_probe) if sidecar.startup_probe else None,
    }
    return container(
        sidecar.name,
        sidecar.image,
        s.image_pull_policy,
        s.run_as_user,
        **{k: v for k, v in optional.items() if v is not None},
        # Shared volumes are read-only for sidecars: they observe the app, they do not change it.
        volumeMounts=[
            *(
                {"name": volume, "mountPath": path, "readOnly": True}
                for volume, path in sidecar.volume_mounts
            ),
            {"name": sidecar_tmp_volume(sidecar), "mountPath": TMP_MOUNT_PATH},
        ],
        resources=sidecar.resources.manifest(),
    )


def _require_refs(s: Settings, refs: Optional[AwsRefs]) -> Optional[AwsRefs]:
    if s.uses_aws and refs is None:
        raise ValueError("the AWS backend needs AwsRefs (bucket, region, secret ids)")
    return refs if s.uses_aws else None


def _preparation(s: Settings, refs: Optional[AwsRefs]) -> list[dict]:
    """Sidecars first, so a log shipper sees every later step; then fetches and the DB wait."""
    refs = _require_refs(s, refs)
    sidecars = [sidecar_container(s, c) for c in s.sidecars]
    fetches = (
        [fetch.fetch_config_container(s, refs), fetch.fetch_secrets_container(s, refs)]
        if refs
        else []
    )
    return [*sidecars, *fetches, wait_for_db_container(s, refs)]


def init_containers(s: Settings, refs: Optional[AwsRefs] = None) -> list[dict]:
    return [*_preparation(s, refs), *migration_step(s)]


def app_containers(s: Settings, refs: Optional[AwsRefs] = None) -> list[dict]:
    return [media.granted(s, django_container(s), refs)]


def _config_and_secret_volumes(s: Settings, refs: Optional[AwsRefs]) -> list[dict]:
    if refs:
        return [
            # Filled by fetch-config and fetch-secrets; the secrets never touch the node's disk.
            {"name": "config", "emptyDir": {"sizeLimit": "32Mi"}},
            {"name": SECRETS_VOLUME, "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}},
            *fetch.volumes(s),
            *media.volumes(s),
        ]
    config_map: dict = {"name": config_map_name(s), "defaultMode": 0o444}
    if s.config_files:
        # Keys are flat; items put nested files back at their relative paths.
        config_map["items"] = [{"key": configmap_key(f), "path": f} for f, _ in s.config_files]
    return [
        {"name": "config", "configMap": config_map},
        {
            # Secret volumes are tmpfs-backed: the credentials never touch the node's disk.
            "name": SECRETS_VOLUME,
            "secret": {
                "secretName": credentials_secret_name(s),
                "defaultMode": SECRET_FILE_MODE,
                "items": [{"key": f.key, "path": f.key} for f in s.secret_files],
            },
        },
    ]


def volumes(s: Settings, refs: Optional[AwsRefs] = None) -> list[dict]:
    return [
        *_config_and_secret_volumes(s, _require_refs(s, refs)),
        {"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": "64Mi"}},
        {"name": "logs", "emptyDir": {"sizeLimit": "256Mi"}},
        *(
            {"name": sidecar_tmp_volume(c), "emptyDir": {"medium": "Memory", "sizeLimit": "32Mi"}}
            for c in s.sidecars
        ),
    ]


def _spread(s: Settings) -> list[dict]:
    # ScheduleAnyway: spread when the cluster can, still schedule on a one-node dev cluster.
    return [
        {
            "maxSkew": 1,
            "topologyKey": key,
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {"matchLabels": selector_labels(s.name, WEB)},
        }
        for key in ("kubernetes.io/hostname", "topology.kubernetes.io/zone")
    ]


def pod_spec(s: Settings, refs: Optional[AwsRefs] = None) -> dict:
    spec = {
        "serviceAccountName": s.name,
        "automountServiceAccountToken": False,
        # No *_SERVICE_HOST variables for every Service in the namespace.
        "enableServiceLinks": False,
        "terminationGracePeriodSeconds": s.termination_grace_seconds,
        "securityContext": pod_security_context(s.run_as_user),
        "initContainers": init_containers(s, refs),
        "containers": app_containers(s, refs),
        "volumes": volumes(s, refs),
    }
    if s.replicas >= 2:
        spec["topologySpreadConstraints"] = _spread(s)
    return spec


def migration_pod_spec(s: Settings, refs: Optional[AwsRefs] = None) -> dict:
    """The Job's pod: the same preparation as an app pod, then the locked migrate as its one
    container (sidecars still native, so they do not keep the Job from completing)."""
    spec = pod_spec(s, refs)
    spec.pop("topologySpreadConstraints", None)
    spec["initContainers"] = _preparation(s, refs)
    spec["containers"] = [migrations.migrate_container(s, app_process(s))]
    return spec


def command_pod_spec(
    s: Settings,
    name: str,
    command,
    resources,
    refs: Optional[AwsRefs],
    wait: bool,
    env=(),
    **fields,
) -> dict:
    """A pod whose one container runs ``command`` from the app image after the web pod's
    preparation and (when ``wait``) a bounded wait for migrations: it never runs them."""
    spec = pod_spec(s, refs)
    spec.pop("topologySpreadConstraints", None)
    base = app_process(s)
    if resources is not None:
        base = {**base, "resources": resources.manifest()}
    gate = [migrations.wait_for_migrations_container(s, base)] if wait else []
    spec["initContainers"] = [*_preparation(s, refs), *gate]
    main = container(
        name,
        s.image,
        s.image_pull_policy,
        s.run_as_user,
        command=list(command),
        env=[*base["env"], *env_list(env)],
        resources=base["resources"],
        volumeMounts=base["volumeMounts"],
        **fields,
    )
    spec["containers"] = [media.granted(s, main, refs)]
    return spec


def migration_job(s: Settings, refs: Optional[AwsRefs] = None) -> Optional[dict]:
    if s.migrations.mode != "job":
        return None
    shape = migration_pod_spec(s, fetch.placeholder_refs(refs) if refs else None)
    return migrations.job(s, migration_pod_spec(s, refs), migrations.job_name(s, shape))


def deployment(s: Settings, refs: Optional[AwsRefs] = None) -> dict:
    spec = pod_spec(s, refs)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": s.name, "namespace": s.namespace, "labels": labels(s.name, WEB)},
        "spec": {
            "replicas": s.replicas,
            "revisionHistoryLimit": 5,
            "selector": {"matchLabels": selector_labels(s.name, WEB)},
            # Never below the desired count during a rollout: a new pod must be ready first.
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
            },
            "template": {
                "metadata": {
                    "labels": labels(s.name, WEB),
                    # New config content, new pod template: the Deployment rolls.
                    "annotations": {
                        CONFIG_HASH_ANNOTATION: s.config_hash,
                        **fetch.credential_annotations(s, spec),
                    },
                },
                "spec": spec,
            },
        },
    }


def await_seconds(s: Settings) -> int:
    """How long a web rollout may legitimately take: the database wait, the migration step (the
    lock in ``init-container`` mode, the wait for the Job in ``job`` mode) and the startup probe."""
    migration = {
        "init-container": s.migrations.lock_timeout_seconds,
        "job": s.migrations.wait_timeout_seconds,
    }
    return s.db_wait_timeout_seconds + migration.get(s.migrations.mode, 0) + STARTUP_SECONDS

"""The Django pod: native sidecars, then wait-for-db and migrate, then gunicorn.

Pure functions from ``Settings`` to Kubernetes objects (camelCase dicts, exactly as applied), so
the pod can be tested, rendered and validated without Pulumi.
"""

from __future__ import annotations

from typing import Iterable

from .effective_resources import ContainerResources
from .labels import WEB, labels, selector_labels
from .quantities import parse_quantity
from .security import container_security_context, pod_security_context
from .settings import WAIT_FOR_DB_RESOURCES, Settings, SidecarSettings

LOGS_MOUNT_PATH = "/var/log/app"
TMP_MOUNT_PATH = "/tmp"
SECRETS_VOLUME = "secrets"
# Files of the credentials Secret that the app reads; Postgres gets only "password".
DATABASE_URL_KEY = "database-url"
SECRET_KEY_KEY = "secret-key"
PRESTOP_SLEEP_SECONDS = 5
TERMINATION_GRACE_SECONDS = 30
# Files mounted from a Secret are owned by root and the fsGroup; group read lets the app UID read
# them and nobody else.
SECRET_FILE_MODE = 0o440

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


def credentials_secret_name(s: Settings) -> str:
    return f"{s.name}-credentials"


def _env(pairs: Iterable[tuple[str, str]]) -> list[dict]:
    return [{"name": k, "value": v} for k, v in pairs]


def app_env(s: Settings) -> list[dict]:
    """The user's variables, then the component's: secrets only as paths to files."""
    managed = (
        ("DJANGO_CONFIG_DIR", s.config_mount_path),
        ("DATABASE_URL_FILE", f"{s.secrets_mount_path}/{DATABASE_URL_KEY}"),
        ("SECRET_KEY_FILE", f"{s.secrets_mount_path}/{SECRET_KEY_KEY}"),
        ("DJANGO_LOG_DIR", LOGS_MOUNT_PATH),
        ("WEB_CONCURRENCY", str(s.workers)),
        ("PYTHONUNBUFFERED", "1"),
        # The root filesystem is read-only; do not try to write .pyc files.
        ("PYTHONDONTWRITEBYTECODE", "1"),
    )
    return _env((*s.env, *managed))


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
    # Keep serving while the endpoint removal reaches every node. The sleep action needs no
    # `sleep` binary in the image but only exists from 1.30 (beta, on by default).
    if s.kubernetes_minor >= 30:
        return {"sleep": {"seconds": PRESTOP_SLEEP_SECONDS}}
    return {"exec": {"command": ["sleep", str(PRESTOP_SLEEP_SECONDS)]}}


def django_container(s: Settings) -> dict:
    return {
        "name": "django",
        "image": s.image,
        "imagePullPolicy": "IfNotPresent",
        "command": list(s.command),
        "ports": [{"name": "http", "containerPort": s.port, "protocol": "TCP"}],
        "env": app_env(s),
        "resources": s.resources.manifest(),
        "volumeMounts": _app_mounts(s),
        "securityContext": container_security_context(s.run_as_user),
        # Up to 120 s to boot; after that readiness gates traffic and liveness restarts a hang.
        "startupProbe": _http_probe(s, period=2, failures=60, timeout=2),
        "readinessProbe": _http_probe(s, period=10, failures=3, timeout=2),
        "livenessProbe": _http_probe(s, period=20, failures=3, timeout=3),
        "lifecycle": {"preStop": _pre_stop(s)},
    }


def wait_for_db_container(s: Settings) -> dict:
    db = s.database
    return {
        "name": "wait-for-db",
        "image": db.image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["sh", "-c", WAIT_FOR_DB_SCRIPT],
        "env": _env(
            (
                ("DB_HOST", s.database_host),
                ("DB_PORT", str(db.port)),
                ("DB_USER", db.username),
                ("DB_NAME", db.database_name),
                ("DB_WAIT_TIMEOUT", str(s.db_wait_timeout_seconds)),
            )
        ),
        "resources": WAIT_FOR_DB_RESOURCES,
        "securityContext": container_security_context(s.run_as_user),
    }


def migrate_container(s: Settings) -> dict:
    """The app image runs its own migrations, with the app's config and secret files."""
    return {
        "name": "migrate",
        "image": s.image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["python", "manage.py", "migrate", "--noinput"],
        "env": app_env(s),
        "resources": s.resources.manifest(),
        "volumeMounts": _app_mounts(s),
        "securityContext": container_security_context(s.run_as_user),
    }


def sidecar_tmp_volume(sidecar: SidecarSettings) -> str:
    return f"tmp-{sidecar.name}"


def sidecar_container(s: Settings, sidecar: SidecarSettings) -> dict:
    """A sidecar; native (``restartPolicy: Always`` in initContainers) when the cluster has them."""
    container: dict = {"name": sidecar.name, "image": sidecar.image, "imagePullPolicy": "IfNotPresent"}
    if s.native_sidecars:
        container["restartPolicy"] = "Always"
    if sidecar.command:
        container["command"] = list(sidecar.command)
    if sidecar.args:
        container["args"] = list(sidecar.args)
    if sidecar.env:
        container["env"] = _env(sidecar.env)
    if sidecar.ports:
        container["ports"] = [{"containerPort": p, "protocol": "TCP"} for p in sidecar.ports]
    if sidecar.startup_probe:
        container["startupProbe"] = dict(sidecar.startup_probe)
    # Shared volumes are read-only for sidecars: they observe the app, they do not change it.
    container["volumeMounts"] = [
        *({"name": volume, "mountPath": path, "readOnly": True} for volume, path in sidecar.volume_mounts),
        {"name": sidecar_tmp_volume(sidecar), "mountPath": TMP_MOUNT_PATH},
    ]
    container["resources"] = sidecar.resources.manifest()
    container["securityContext"] = container_security_context(s.run_as_user)
    return container


def init_containers(s: Settings) -> list[dict]:
    """Sidecars first, so a log shipper sees every later step; then the ordered init steps."""
    sidecars = [sidecar_container(s, c) for c in s.sidecars] if s.native_sidecars else []
    return [*sidecars, wait_for_db_container(s), migrate_container(s)]


def app_containers(s: Settings) -> list[dict]:
    sidecars = [] if s.native_sidecars else [sidecar_container(s, c) for c in s.sidecars]
    return [django_container(s), *sidecars]


def volumes(s: Settings) -> list[dict]:
    return [
        # Filled by the config fetch step; an emptyDir until then.
        {"name": "config", "emptyDir": {"sizeLimit": "32Mi"}},
        {
            # Secret volumes are tmpfs-backed: the credentials never touch the node's disk.
            "name": SECRETS_VOLUME,
            "secret": {
                "secretName": credentials_secret_name(s),
                "defaultMode": SECRET_FILE_MODE,
                "items": [
                    {"key": DATABASE_URL_KEY, "path": DATABASE_URL_KEY},
                    {"key": SECRET_KEY_KEY, "path": SECRET_KEY_KEY},
                ],
            },
        },
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


def pod_spec(s: Settings) -> dict:
    spec = {
        "serviceAccountName": s.name,
        "automountServiceAccountToken": False,
        # No *_SERVICE_HOST variables for every Service in the namespace.
        "enableServiceLinks": False,
        "terminationGracePeriodSeconds": TERMINATION_GRACE_SECONDS,
        "securityContext": pod_security_context(s.run_as_user),
        "initContainers": init_containers(s),
        "containers": app_containers(s),
        "volumes": volumes(s),
    }
    if s.replicas >= 2:
        spec["topologySpreadConstraints"] = _spread(s)
    return spec


def deployment(s: Settings) -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": s.name, "namespace": s.namespace, "labels": labels(s.name, WEB)},
        "spec": {
            "replicas": s.replicas,
            "revisionHistoryLimit": 5,
            "selector": {"matchLabels": selector_labels(s.name, WEB)},
            # Never below the desired count during a rollout: a new pod must be ready first.
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": {"metadata": {"labels": labels(s.name, WEB)}, "spec": pod_spec(s)},
        },
    }


def container_resources(spec: dict) -> list[ContainerResources]:
    """Read a pod spec's containers, in pod order, for the effective-resources formula."""

    def parsed(c: dict, role) -> ContainerResources:
        resources = c.get("resources", {})
        return ContainerResources(
            name=c["name"],
            role=role,
            requests={k: parse_quantity(v) for k, v in resources.get("requests", {}).items()},
            limits={k: parse_quantity(v) for k, v in resources.get("limits", {}).items()},
        )

    init = [
        parsed(c, "sidecar" if c.get("restartPolicy") == "Always" else "init")
        for c in spec.get("initContainers", [])
    ]
    return [*init, *(parsed(c, "app") for c in spec["containers"])]

"""Metrics: Prometheus Operator PodMonitors for the app, its processes' heartbeats and the
in-cluster broker's and database's exporters; the exporters; the heartbeat exporter sidecar.

- The app's own metrics (``app_metrics_path`` on its ``http`` port: django-prometheus or the
  like) — a PodMonitor of the web pods.
- Each process with probes has a heartbeat file (Celery's worker heartbeat, beat's tick): a
  native sidecar ``heartbeat-exporter`` of the app's image (nothing added to it: stdlib Python
  inline) serves the file's modification time as
  ``djangoapp_process_heartbeat_timestamp_seconds{process="<name>"}`` on port 9808, reading the
  pod's ``/tmp`` read-only; no sample while the file does not exist.
- The in-cluster broker: a Deployment ``<app>-broker-exporter`` (oliver006/redis_exporter) that
  logs in as ``metrics-exporter``, a user of the broker's ACL file allowed the commands the
  exporter's server and list metrics need (``INFO``, ``PING``, ``SELECT``, ``TYPE``, ``LLEN``,
  ``SCAN``, ``SLOWLOG LEN``, ``LATENCY LATEST``, ``CLIENT SETNAME``: exporter/*.go of
  oliver006/redis_exporter) and none that reads a task or writes; the Celery lists' lengths are
  ``redis_key_size{key="<list>"}`` (``REDIS_EXPORTER_CHECK_SINGLE_KEYS``, values never exported).
  Its password reaches it as the exporter's password file (``REDIS_PASSWORD_FILE``: a JSON map of
  address to password, exporter/pwd_file.go), a key of the credentials Secret. Its image runs as
  UID 59000 (its Dockerfile: ``USER 59000:59000``, ``ENTRYPOINT /redis_exporter``).
- The in-cluster database: a Deployment ``<app>-postgres-exporter``
  (prometheus-community/postgres_exporter) connecting to the ``postgres`` database as
  ``<user>_monitor``, a role in ``pg_monitor`` (every statistics view and setting, no table of the
  app) made by the Job ``<app>-monitor-role`` with its SCRAM verifier, like the drill role.
"""

from __future__ import annotations

import json

from ..settings.app import Settings
from ..settings.processes import ProcessSettings
from ..settings.queue_autoscaling import DEFAULT_PRIORITY_STEPS, KOMBU_PRIORITY_SEPARATOR
from . import broker
from .labels import BROKER_EXPORTER, DATABASE_EXPORTER, PROCESS, WEB, labels, selector_labels
from .queue_autoscaling import CONNECTION_COMMANDS
from .secret_files import SECRET_FILE_MODE, credentials_secret_name
from .security import container, pod_security_context

HEARTBEAT_PORT = 9808

HEARTBEAT_PORT_NAME = "heartbeat"

BROKER_EXPORTER_PORT = 9121

EXPORTER_USERNAME = "metrics-exporter"

EXPORTER_PASSWORDS_KEY = "broker-exporter-passwords.json"

EXPORTER_PASSWORD_DIR = "/run/secrets/broker-exporter"

# What the exporter's server and key metrics call (exporter/*.go of oliver006/redis_exporter),
# with the login commands KEDA's user gets too (not @connection: CLIENT LIST and CLIENT KILL).
EXPORTER_COMMANDS = (
    *CONNECTION_COMMANDS, "client|setname",
    "info", "select", "type", "llen", "scan", "slowlog|len", "latency|latest",
)  # fmt: skip

SIDECAR_RESOURCES = {
    "requests": {"cpu": "10m", "memory": "32Mi"},
    "limits": {"cpu": "100m", "memory": "64Mi"},
}

EXPORTER_RESOURCES = {
    "requests": {"cpu": "10m", "memory": "32Mi"},
    "limits": {"cpu": "200m", "memory": "64Mi"},
}

EXPORTER_UID = 59000

HEARTBEAT_METRIC = "djangoapp_process_heartbeat_timestamp_seconds"

HEARTBEAT_EXPORTER_SCRIPT = f"""\
import http.server
import os

FILE, PROCESS = os.environ["HEARTBEAT_FILE"], os.environ["PROCESS"]
HELP = "# HELP {HEARTBEAT_METRIC} When the process last touched its heartbeat file.\\n"
TYPE = "# TYPE {HEARTBEAT_METRIC} gauge\\n"


class Metrics(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path != "/metrics":
            self.send_error(404)
            return
        body = HELP + TYPE
        try:
            body += '{HEARTBEAT_METRIC}{{process="%s"}} %.3f\\n' % (PROCESS, os.stat(FILE).st_mtime)
        except OSError:
            pass  # not yet written: no sample
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


class Server(http.server.ThreadingHTTPServer):
    address_family = __import__("socket").AF_INET6 if ":" in os.environ["LISTEN"] else __import__("socket").AF_INET


Server((os.environ["LISTEN"], int(os.environ["METRICS_PORT"])), Metrics).serve_forever()
"""


def exporter_acl_line(password: str) -> str:
    commands = " ".join(f"+{c}" for c in EXPORTER_COMMANDS)
    return f"user {EXPORTER_USERNAME} on >{password} ~* resetchannels -@all {commands}\n"


def exported(s: Settings) -> bool:
    """The broker exporter: with monitoring and the in-cluster broker."""
    return bool(s.monitoring and s.broker and s.broker.in_cluster)


def broker_address(s: Settings) -> str:
    return f"redis://{broker.host(s.name, s.namespace)}:{broker.port(s.broker)}" if s.broker else ""


def exporter_passwords(s: Settings, password: str) -> str:
    """The exporter's password file: its address's password."""
    return json.dumps({broker_address(s): password})


def watched_lists(s: Settings) -> tuple[str, ...]:
    """The Redis lists Celery tasks wait in: the queue-scaled processes' lists, else the default
    queue at kombu's default priority steps."""
    lists = [
        name for p in s.processes if p.queue_autoscaling for _, name in p.queue_autoscaling.lists()
    ]
    if not lists:
        lists = [
            "celery" if step == 0 else f"celery{KOMBU_PRIORITY_SEPARATOR}{step}"
            for step in DEFAULT_PRIORITY_STEPS
        ]
    return tuple(dict.fromkeys(lists))


def heartbeat_exported(process: ProcessSettings) -> bool:
    """Processes whose heartbeat file is in the pod's /tmp (the sidecar reads that volume)."""
    return process.probes and process.heartbeat_file.startswith("/tmp/")


def heartbeat_sidecar(s: Settings, process: ProcessSettings) -> dict:
    return container(
        "heartbeat-exporter",
        s.image,
        s.image_pull_policy,
        s.run_as_user,
        restartPolicy="Always",
        command=["python", "-c", HEARTBEAT_EXPORTER_SCRIPT],
        env=[
            {"name": "HEARTBEAT_FILE", "value": process.heartbeat_file},
            {"name": "PROCESS", "value": process.name},
            {"name": "LISTEN", "value": s.listen_address},
            {"name": "METRICS_PORT", "value": str(HEARTBEAT_PORT)},
            {"name": "PYTHONDONTWRITEBYTECODE", "value": "1"},
        ],
        ports=[{"name": HEARTBEAT_PORT_NAME, "containerPort": HEARTBEAT_PORT, "protocol": "TCP"}],
        # A stuck server is restarted; the heartbeat's own age is the alert's business.
        livenessProbe={
            "httpGet": {"path": "/metrics", "port": HEARTBEAT_PORT_NAME},
            "periodSeconds": 30,
            "timeoutSeconds": 5,
        },
        resources=SIDECAR_RESOURCES,
        # The process's /tmp, read-only: the sidecar only looks at the heartbeat.
        volumeMounts=[{"name": "tmp", "mountPath": "/tmp", "readOnly": True}],
    )


def _pod_monitor(s: Settings, suffix: str, selector: dict, endpoint: dict) -> dict:
    m = s.monitoring
    assert m is not None
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": {
            "name": f"{s.name}-{suffix}",
            "namespace": s.namespace,
            "labels": {**labels(s.name, WEB), **dict(m.labels)},
        },
        "spec": {
            "selector": {"matchLabels": selector},
            "podMetricsEndpoints": [endpoint],
        },
    }


def pod_monitors(s: Settings) -> list[tuple[str, dict]]:
    m = s.monitoring
    if m is None:
        return []
    result = []
    if m.app_metrics_path:
        result.append(
            (
                "app",
                _pod_monitor(
                    s,
                    "app",
                    selector_labels(s.name, WEB),
                    {"port": "http", "path": m.app_metrics_path},
                ),
            )
        )
    if any(heartbeat_exported(p) for p in s.processes):
        result.append(
            (
                "heartbeats",
                _pod_monitor(
                    s, "heartbeats", selector_labels(s.name, PROCESS),
                    {"port": HEARTBEAT_PORT_NAME, "path": "/metrics"},
                ),
            )
        )  # fmt: skip
    for suffix, component, on in (
        ("postgres-exporter", DATABASE_EXPORTER, database_exported(s)),
        ("broker-exporter", BROKER_EXPORTER, exported(s)),
    ):
        if on:
            endpoint = {"port": "metrics", "path": "/metrics"}
            result.append(
                (suffix, _pod_monitor(s, suffix, selector_labels(s.name, component), endpoint))
            )
    return result


def exporter_name(app: str) -> str:
    return f"{app}-broker-exporter"


def broker_exporter(s: Settings) -> dict:
    m = s.monitoring
    assert m is not None
    exporter = container(
        "redis-exporter",
        m.broker_exporter_image,
        s.image_pull_policy,
        EXPORTER_UID,
        env=[
            {"name": "REDIS_ADDR", "value": broker_address(s)},
            {"name": "REDIS_USER", "value": EXPORTER_USERNAME},
            {"name": "REDIS_PASSWORD_FILE", "value": f"{EXPORTER_PASSWORD_DIR}/{EXPORTER_PASSWORDS_KEY}"},
            {"name": "REDIS_EXPORTER_CHECK_SINGLE_KEYS", "value": ",".join(f"db0={k}" for k in watched_lists(s))},
            {"name": "REDIS_EXPORTER_DISABLE_EXPORTING_KEY_VALUES", "value": "true"},
            {"name": "REDIS_EXPORTER_WEB_LISTEN_ADDRESS", "value": f":{BROKER_EXPORTER_PORT}"},
        ],
        ports=[{"name": "metrics", "containerPort": BROKER_EXPORTER_PORT, "protocol": "TCP"}],
        resources=EXPORTER_RESOURCES,
        **_exporter_probes("/health"),
        volumeMounts=[{"name": "password", "mountPath": EXPORTER_PASSWORD_DIR, "readOnly": True}],
    )  # fmt: skip
    return _exporter_deployment(
        s, exporter_name(s.name), BROKER_EXPORTER, broker.name(s.name), EXPORTER_UID, exporter,
        EXPORTER_PASSWORDS_KEY,
    )  # fmt: skip


def _exporter_probes(path: str) -> dict:
    return {
        "readinessProbe": {"httpGet": {"path": path, "port": "metrics"}, "periodSeconds": 10},
        "livenessProbe": {
            "httpGet": {"path": path, "port": "metrics"},
            "periodSeconds": 30,
            "timeoutSeconds": 5,
        },
    }


def _exporter_deployment(
    s: Settings, name: str, component: str, account: str, uid: int, exporter: dict, secret_key: str
) -> dict:
    """An exporter's Deployment: one replica, no token, its password file alone from the
    credentials Secret."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": s.namespace, "labels": labels(s.name, component)},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": selector_labels(s.name, component)},
            "template": {
                "metadata": {"labels": labels(s.name, component)},
                "spec": {
                    "serviceAccountName": account,
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    "securityContext": pod_security_context(uid),
                    "containers": [exporter],
                    "volumes": [
                        {
                            "name": "password",
                            "secret": {
                                "secretName": credentials_secret_name(s),
                                "defaultMode": SECRET_FILE_MODE,
                                "items": [{"key": secret_key, "path": secret_key}],
                            },
                        }
                    ],
                },
            },
        },
    }


# --- the in-cluster database's exporter ----------------------------------------------------

DATABASE_EXPORTER_PORT = 9187

# The image's user (Dockerfile of prometheus-community/postgres_exporter: USER nobody).
DATABASE_EXPORTER_UID = 65534

MONITOR_PASSWORD_KEY = "monitor-password"

MONITOR_VERIFIER_KEY = "monitor-password-verifier"

# psql variables: monitor_user; the verifier is read from its file by psql itself. pg_monitor
# reads every statistics view and setting, and no table of the app.
MONITOR_ROLE_SQL = r"""\set ON_ERROR_STOP on
\set verifier `cat "$VERIFIER_FILE"`
SELECT format('CREATE ROLE %I', :'monitor_user')
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'monitor_user') \gexec
ALTER ROLE :"monitor_user" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD :'verifier';
\unset verifier
GRANT pg_monitor TO :"monitor_user";
"""

MONITOR_ROLE_SCRIPT = (
    """\
set -eu
export PGPASSWORD="$(cat "$PGPASSWORD_FILE")"
psql --no-psqlrc --quiet --set monitor_user="$MONITOR_USER" --file - <<'SQL'
"""
    + MONITOR_ROLE_SQL
    + """\
SQL
echo "monitor-role: $MONITOR_USER reads the statistics views, no table"
"""
)


def database_exported(s: Settings) -> bool:
    """The database exporter: with monitoring and the in-cluster database."""
    return bool(s.monitoring and not s.database.external)


def monitor_role(s: Settings) -> str:
    """``<user>_monitor``, within PostgreSQL's 63-byte names."""
    return f"{s.database.username[:55]}_monitor"


def monitor_role_job_name(app: str) -> str:
    return f"{app}-monitor-role"


def database_exporter_name(app: str) -> str:
    return f"{app}-postgres-exporter"


def monitor_role_job(s: Settings) -> dict:
    from .restore_drill import in_cluster_role_job

    return in_cluster_role_job(
        s, monitor_role_job_name(s.name), "monitor-role", MONITOR_ROLE_SCRIPT,
        [{"name": "MONITOR_USER", "value": monitor_role(s)}],
        MONITOR_VERIFIER_KEY, DATABASE_EXPORTER,
    )  # fmt: skip


def database_exporter(s: Settings) -> dict:
    m = s.monitoring
    assert m is not None
    db = s.database
    exporter = container(
        "postgres-exporter",
        m.database_exporter_image,
        s.image_pull_policy,
        DATABASE_EXPORTER_UID,
        # exporter/datasource.go: the URI without credentials, the user and a password file.
        env=[
            {"name": "DATA_SOURCE_URI", "value": f"{s.database_host}:{db.port}/postgres?sslmode=disable"},
            {"name": "DATA_SOURCE_USER", "value": monitor_role(s)},
            {"name": "DATA_SOURCE_PASS_FILE", "value": f"/run/secrets/postgres/{MONITOR_PASSWORD_KEY}"},
        ],
        ports=[{"name": "metrics", "containerPort": DATABASE_EXPORTER_PORT, "protocol": "TCP"}],
        resources=EXPORTER_RESOURCES,
        **_exporter_probes("/"),
        volumeMounts=[{"name": "password", "mountPath": "/run/secrets/postgres", "readOnly": True}],
    )  # fmt: skip
    return _exporter_deployment(
        s, database_exporter_name(s.name), DATABASE_EXPORTER, f"{s.name}-postgres",
        DATABASE_EXPORTER_UID, exporter, MONITOR_PASSWORD_KEY,
    )  # fmt: skip

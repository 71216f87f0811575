"""Raw ``DjangoAppArgs`` in, one validated and frozen ``Settings`` out.

Everything after :func:`normalise` reads only ``Settings``: defaults are filled in here, once,
and every problem with the input is collected and raised together before any resource exists.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Mapping, Optional

from . import api_limits, autoscaling, backups, broker, config_files, processes, rds, schedules, way_in
from .args import DjangoAppArgs, PostgresArgs, ResourcesArgs, SidecarArgs
from .aws_settings import AWS_SECRETS_MANAGER, AwsSettings, backend, normalise_aws
from .quantities import QuantityError, parse_quantity
from .validation import (
    ENV_NAME,
    Problems,
    dns_label_problem,
    image_problem,
    is_int,
    storage_problems,
    unknown_keys,
)

# Names of the containers the component itself puts into the pod; sidecars may not reuse them.
BUILTIN_CONTAINERS = (
    "django", "fetch-config", "fetch-secrets", "wait-for-db", "migrate", "wait-for-migrations",
    "postgres",
)  # fmt: skip

# Variables the component sets itself; a user value would silently contradict them.
MANAGED_ENV = (
    "DATABASE_URL_FILE",
    "BROKER_URL_FILE",
    "BROKER_VISIBILITY_TIMEOUT",
    "HEARTBEAT_FILE",
    "READY_FILE",
    "MIGRATION_LOCK_KEY",
    "MIGRATION_LOCK_TIMEOUT",
    "MIGRATIONS_WAIT_TIMEOUT",
    "DATABASE_CREDENTIALS_FILE",
    "SECRET_KEY_FILE",
    "DJANGO_CONFIG_DIR",
    "DJANGO_LOG_DIR",
    "WEB_CONCURRENCY",
    "PYTHONUNBUFFERED",
    "PYTHONDONTWRITEBYTECODE",
    *way_in.MANAGED_ENV,
)
# These would carry a secret in plain text; the component delivers them as files instead.
SECRET_ENV = ("DATABASE_URL", "SECRET_KEY", "DJANGO_SECRET_KEY", "BROKER_URL", "CELERY_BROKER_URL")
_SECRET_LOOKING_NAME = re.compile(
    r"PASSWORD|PASSWD|PASSPHRASE|(?:^|_)PASS(?:$|_)|(?:^|_)PWD(?:$|_)|SECRET|TOKEN|CREDENTIAL|"
    r"PRIVATE_KEY|ACCESS_KEY|API_KEY|AUTH_KEY|SIGNING_KEY",
    re.IGNORECASE,
)
_URL_WITH_PASSWORD = re.compile(r"://[^/@\s:]*:[^/@\s]+@")
# A credential in a URL's query string (?password=..., &token=..., &sig=...).
_SECRET_IN_QUERY = re.compile(
    r"[?&;](?:[a-z0-9_.-]*(?:pass(?:word|wd)?|pwd|secret|token|api[_-]?key|access[_-]?key|signature|sig))=[^&;\s]+",
    re.IGNORECASE,
)
# Namespaces the cluster itself owns: the component must never create, label or delete them.
SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
# The app's own mounts besides config and secrets (app_pod.py).
APP_MOUNT_PATHS = ("/tmp", "/var/log/app")


SHARED_VOLUMES = ("config", "logs")
PROBE_HANDLERS = api_limits.PROBE_HANDLERS
_PROBE_FIELDS = api_limits.PROBE_FIELDS
_KUBERNETES_VERSION = re.compile(r"^v?1\.(0|[1-9][0-9]*)(?:\.(0|[1-9][0-9]*))?$")
MIGRATION_MODES = ("init-container", "job", "none")
IP_FAMILIES = ("ipv4", "ipv6")
# What a server binds to listen on every address of the pod, per family (unbracketed).
LISTEN_ADDRESSES = {"ipv4": "0.0.0.0", "ipv6": "::"}
_HOST = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$")
_PG_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_RESOURCE_NAME = re.compile(
    r"^(cpu|memory|ephemeral-storage|hugepages-[0-9]+[KMG]i|[a-z0-9.-]+/[a-zA-Z0-9._-]+)$"
)

# Component names become object names such as "<name>-postgres"; StatefulSet pods also carry
# the name plus a revision hash in a 63-character label, which leaves about 40 characters.
MAX_NAME_LENGTH = 40
# Leaves room for the sidecar's own "tmp-<name>" volume within 63 characters.
MAX_SIDECAR_NAME_LENGTH = 50
# The oldest minor any major provider still supports in late 2026: EKS 1.32 is in extended
# support until 2027-03-23 (1.31's ended 2026-11-26); the EKS version calendar
# (docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html; endoflife.date/amazon-eks).
# From it on, native sidecars (beta, on from 1.29), the preStop sleep action (1.30) and the PDB's
# unhealthyPodEvictionPolicy (GA 1.31) all exist: no fallback paths are needed.
MIN_KUBERNETES_MINOR = 32
DEFAULT_KUBERNETES_VERSION = "1.32"

DEFAULT_APP_RESOURCES = {
    "requests": {"cpu": "250m", "memory": "256Mi"},
    "limits": {"cpu": "1", "memory": "512Mi"},
}
DEFAULT_SIDECAR_RESOURCES = {
    "requests": {"cpu": "50m", "memory": "64Mi"},
    "limits": {"cpu": "200m", "memory": "128Mi"},
}
DEFAULT_POSTGRES_RESOURCES = {
    "requests": {"cpu": "250m", "memory": "256Mi"},
    "limits": {"cpu": "1", "memory": "1Gi"},
}
# wait-for-db only runs pg_isready in a loop.
WAIT_FOR_DB_RESOURCES = {
    "requests": {"cpu": "10m", "memory": "16Mi"},
    "limits": {"cpu": "100m", "memory": "64Mi"},
}
DEFAULT_POSTGRES_IMAGE = "public.ecr.aws/docker/library/postgres:17.6-bookworm"
PRESTOP_MARGIN_SECONDS = 5
GUNICORN_GRACEFUL_SECONDS = 20


@dataclass(frozen=True)
class Resources:
    """Requests and limits as (name, quantity string) pairs, sorted by name."""

    requests: tuple[tuple[str, str], ...]
    limits: tuple[tuple[str, str], ...]

    def manifest(self) -> dict[str, dict[str, str]]:
        return {"requests": dict(self.requests), "limits": dict(self.limits)}

    def parsed(self) -> tuple[dict[str, Fraction], dict[str, Fraction]]:
        return (
            {k: parse_quantity(v) for k, v in self.requests},
            {k: parse_quantity(v) for k, v in self.limits},
        )


@dataclass(frozen=True)
class SidecarSettings:
    name: str
    image: str
    command: Optional[tuple[str, ...]]
    args: Optional[tuple[str, ...]]
    env: tuple[tuple[str, str], ...]
    resources: Resources
    ports: tuple[int, ...]
    startup_probe: Optional[Mapping[str, Any]]
    volume_mounts: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class DatabaseSettings:
    image: str
    storage_size: str
    storage_class: Optional[str]
    resources: Resources
    database_name: str
    username: str
    port: int = 5432
    # An existing server; None means the component runs PostgreSQL in the cluster or on RDS.
    host: Optional[str] = None
    provider: str = "in-cluster"
    rds: Optional[rds.RdsSettings] = None

    @property
    def external(self) -> bool:
        """No server in the cluster: an existing one, or RDS."""
        return self.provider != "in-cluster"


@dataclass(frozen=True)
class MigrationSettings:
    mode: str
    lock_key: int
    lock_timeout_seconds: int
    job_backoff_limit: int
    job_deadline_seconds: int
    release: Optional[str]
    wait_timeout_seconds: int


@dataclass(frozen=True)
class Settings:
    """Everything the component builds from, validated and with every default filled in."""

    name: str
    namespace: str
    create_namespace: bool
    image: str
    replicas: int
    port: int
    command: tuple[str, ...]
    workers: int
    env: tuple[tuple[str, str], ...]
    resources: Resources
    sidecars: tuple[SidecarSettings, ...]
    database: DatabaseSettings
    kubernetes_minor: int
    health_path: str
    probe_host: str
    run_as_user: int
    network_policies: bool
    db_wait_timeout_seconds: int
    config_mount_path: str
    secrets_mount_path: str
    secrets_backend: str
    config_files: tuple[tuple[str, str], ...]
    protect_data: bool
    aws: Optional[AwsSettings]
    migrations: MigrationSettings
    image_pull_policy: str
    ip_family: str = "ipv4"
    way_in: Optional[way_in.WayIn] = None
    schedules: tuple[schedules.ScheduleSettings, ...] = ()
    autoscaling: Optional[autoscaling.AutoscalingSettings] = None
    processes: tuple[processes.ProcessSettings, ...] = ()
    broker: Optional[broker.BrokerSettings] = None
    backups: Optional[backups.BackupSettings] = None

    @property
    def pre_stop_seconds(self) -> int:
        """Keep serving until the endpoint removal has reached every node, and behind an ALB
        until the target group has finished draining this pod."""
        if self.way_in and self.way_in.alb:
            return self.way_in.deregistration_seconds + PRESTOP_MARGIN_SECONDS
        return PRESTOP_MARGIN_SECONDS

    @property
    def termination_grace_seconds(self) -> int:
        """preStop, then gunicorn's graceful timeout, then a margin before SIGKILL."""
        return self.pre_stop_seconds + GUNICORN_GRACEFUL_SECONDS + PRESTOP_MARGIN_SECONDS

    @property
    def listen_address(self) -> str:
        return LISTEN_ADDRESSES[self.ip_family]

    @property
    def config_hash(self) -> str:
        return config_files.content_hash(self.config_files)

    @property
    def uses_aws(self) -> bool:
        return self.secrets_backend == AWS_SECRETS_MANAGER

    @property
    def config_prefix(self) -> str:
        """Where this app's files live in the config bucket."""
        return f"{self.namespace}/{self.name}"

    @property
    def database_host(self) -> str:
        """The existing server, or the in-cluster DNS name of the PostgreSQL Service."""
        if self.database.host is not None:
            return self.database.host
        return f"{self.name}-postgres.{self.namespace}.svc.cluster.local"




def _given(raw: Mapping[str, Any]) -> dict[str, Any]:
    """An argument set to None counts as not given (hosts and callers pass None for "unset")."""
    return {k: v for k, v in raw.items() if v is not None}


def _mapping(problems: Problems, field: str, value: Any) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        problems.add(field, value, "must be a mapping")
        return {}
    return _given(value)


def _int(problems: Problems, field: str, value: Any, low: int, high: int = api_limits.INT32_MAX) -> int:
    """An integer in [low, high]; ``high`` defaults to what an int32 API field can store."""
    upper = f" and at most {high}"
    if not is_int(value) or value < low or value > high:
        problems.add(field, value, f"must be an integer of at least {low}{upper}")
        return low
    return value


def _choice(problems: Problems, field: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        problems.add(field, value, f"must be one of {', '.join(allowed)}")
        return allowed[0]
    return value


def _bool(problems: Problems, field: str, value: Any) -> bool:
    if not isinstance(value, bool):
        problems.add(field, value, "must be true or false")
        return True
    return value


def _image(problems: Problems, field: str, value: Any) -> str:
    problem = image_problem(value)
    if problem:
        problems.add(field, value, problem)
        return ""
    return value


def _string_list(problems: Problems, field: str, value: Any) -> Optional[tuple[str, ...]]:
    if value is None:
        return None
    if (
        not isinstance(value, (list, tuple))
        or not value
        or not all(isinstance(v, str) and v for v in value)
    ):
        problems.add(field, value, "must be a non-empty list of non-empty strings")
        return None
    return tuple(value)


def _absolute_path(problems: Problems, field: str, value: Any) -> str:
    if not isinstance(value, str) or not value.startswith("/") or ".." in value.split("/"):
        problems.add(field, value, "must be an absolute path without '..'")
        return "/invalid"
    return value.rstrip("/") or "/"


def _env(
    problems: Problems, field: str, value: Any, allowed_plaintext: frozenset[str] = frozenset()
) -> tuple[tuple[str, str], ...]:
    pairs = []
    for name, text in _mapping(problems, field, value).items():
        where = f"{field}.{name}" if isinstance(name, str) and name else f"{field}[{name!r}]"
        if not isinstance(name, str) or not ENV_NAME.match(name):
            problems.add(
                where,
                name,
                "env names must be non-empty, without '=', made of letters, digits, '_', '-', "
                "'.' and not start with a digit",
            )
            continue
        if not isinstance(text, str):
            problems.add(where, text, "env values must be strings")
            continue
        if name in MANAGED_ENV:
            problems.add(where, text, "is set by the component; choose another name")
        elif name in SECRET_ENV:
            problems.add(
                where,
                "[hidden]",
                "is a secret: the component delivers it as a file (see *_FILE variables)",
            )
        elif name not in allowed_plaintext and (
            (_SECRET_LOOKING_NAME.search(name) and not name.endswith("_FILE"))
            or _URL_WITH_PASSWORD.search(text)
            or _SECRET_IN_QUERY.search(text)
        ):
            problems.add(
                where,
                "[hidden]",
                "looks like a secret and would be stored in plain text; deliver it as a file, or "
                "list the name in plaintext_env_allowed if it is not secret",
            )
        pairs.append((name, text))
    return tuple(sorted(pairs))


def _resources(
    problems: Problems, field: str, value: Any, defaults: Mapping[str, Mapping[str, str]]
) -> Resources:
    """User requests/limits over the defaults; a default limit never ends below a user request."""
    raw = _mapping(problems, field, value)
    unknown_keys(problems, raw, ResourcesArgs, f"{field}.")
    given: dict[str, dict[str, tuple[str, Fraction]]] = {"requests": {}, "limits": {}}
    for section in ("requests", "limits"):
        for resource, quantity in _mapping(problems, f"{field}.{section}", raw.get(section)).items():
            where = f"{field}.{section}.{resource}"
            if not isinstance(resource, str) or not _RESOURCE_NAME.match(resource):
                problems.add(
                    where, resource, "is not a resource name (cpu, memory, ephemeral-storage, ...)"
                )
                continue
            # A number (cpu: 0.5, memory: 1073741824) is a valid quantity too: kept as its text.
            text = _number_text(quantity) if isinstance(quantity, (int, float)) and not isinstance(quantity, bool) else quantity
            try:
                amount = parse_quantity(text)
            except QuantityError:
                problems.add(where, quantity, "must be a Kubernetes quantity such as '250m' or '1Gi'")
                continue
            if amount < 0:
                problems.add(where, quantity, "must not be negative")
                continue
            if section == "limits" and amount == 0:
                problems.add(where, quantity, "must be greater than 0 (a zero limit leaves the container nothing)")
                continue
            given[section][resource] = (str(text), amount)

    for resource, (text, request) in given["requests"].items():
        limit = given["limits"].get(resource)
        if limit is not None and limit[1] < request:
            problems.add(
                f"{field}.limits.{resource}",
                limit[0],
                f"must not be below the request ({text})",
            )
    for resource, (text, limit) in given["limits"].items():
        default = defaults["requests"].get(resource)
        if resource not in given["requests"] and default is not None and limit < parse_quantity(default):
            problems.add(
                f"{field}.limits.{resource}",
                text,
                f"is below the default request ({default}); set {field}.requests.{resource} too",
            )
    for resource in {*given["requests"], *given["limits"]}:
        # The API server admits extended resources (vendor/name) and hugepages only as whole
        # requests equal to their limits: they cannot be overcommitted.
        if "/" in resource or resource.startswith("hugepages-"):
            request, limit = given["requests"].get(resource), given["limits"].get(resource)
            if request is None or limit is None or request[1] != limit[1]:
                problems.add(
                    f"{field}.limits.{resource}",
                    limit[0] if limit else None,
                    f"must be given and equal to the request ({request[0] if request else 'none'}): {resource} cannot be overcommitted",
                )
            elif "/" in resource and request[1].denominator != 1:
                problems.add(f"{field}.requests.{resource}", request[0], "must be a whole number")

    requests = {r: given["requests"].get(r, (q, parse_quantity(q))) for r, q in defaults["requests"].items()}
    requests.update(given["requests"])
    limits = {r: given["limits"].get(r, (q, parse_quantity(q))) for r, q in defaults["limits"].items()}
    limits.update(given["limits"])
    for resource, (text, request) in requests.items():
        if resource not in given["limits"] and resource in limits and limits[resource][1] < request:
            limits[resource] = (text, request)
    return Resources(
        requests=tuple(sorted((r, t) for r, (t, _) in requests.items())),
        limits=tuple(sorted((r, t) for r, (t, _) in limits.items())),
    )


def _number_text(value: float) -> str:
    """A YAML/JSON number as quantity text: 0.5 -> '0.5', 2.0 -> '2', 1e-05 -> '1e-05'."""
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return str(int(value))
    return repr(value)  # inf and nan stay unparseable and are refused as quantities


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _camelise(value: Any) -> Any:
    """snake_case probe keys to the Kubernetes field names (httpHeaders values are data, kept)."""
    if isinstance(value, Mapping):
        return {_camel(k) if isinstance(k, str) else k: _camelise(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_camelise(v) for v in value]
    return value


def _probe(problems: Problems, field: str, value: Any, kind: str = "startup") -> Optional[Mapping[str, Any]]:
    if value is None:
        return None
    probe = _camelise(_mapping(problems, field, value))
    handlers = [h for h in PROBE_HANDLERS if h in probe]
    unknown = sorted(k for k in probe if k not in _PROBE_FIELDS)
    if unknown:
        problems.add(f"{field}.{unknown[0]}", probe[unknown[0]], f"is not a probe field; known: {', '.join(_PROBE_FIELDS)}")
    if len(handlers) != 1:
        problems.add(field, value, f"must have exactly one of {', '.join(PROBE_HANDLERS)}")
        return None
    before = len(problems.items)
    api_limits.probe_problems(problems, field, probe, kind)
    return probe if len(problems.items) == before else None


def _sidecar(problems: Problems, index: int, raw: Any, app_port: Any) -> Optional[SidecarSettings]:
    field = f"sidecars[{index}]"
    if not isinstance(raw, Mapping):
        problems.add(field, raw, "must be a mapping with at least name and image")
        return None
    raw = _given(raw)
    unknown_keys(problems, raw, SidecarArgs, f"{field}.")
    name = raw.get("name")
    problem = dns_label_problem(name, MAX_SIDECAR_NAME_LENGTH)
    if problem:
        problems.add(f"{field}.name", name, problem)
    elif name in BUILTIN_CONTAINERS:
        problems.add(
            f"{field}.name", name, f"is a built-in container name ({', '.join(BUILTIN_CONTAINERS)})"
        )
    if "image" not in raw:
        problems.add(f"{field}.image", None, "is required: a pinned image reference")
        image = ""
    else:
        image = _image(problems, f"{field}.image", raw["image"])

    ports = raw.get("ports") or []
    if not isinstance(ports, (list, tuple)):
        problems.add(f"{field}.ports", ports, "must be a list of port numbers")
        ports = []
    for i, port in enumerate(ports):
        _int(problems, f"{field}.ports[{i}]", port, 1, 65535)
        if port == app_port:
            problems.add(f"{field}.ports[{i}]", port, "clashes with the app's port (one pod, one network)")
        elif port in ports[:i]:
            problems.add(f"{field}.ports[{i}]", port, "is listed twice")

    mounts = []
    for volume, path in _mapping(problems, f"{field}.volume_mounts", raw.get("volume_mounts")).items():
        if volume not in SHARED_VOLUMES:
            problems.add(
                f"{field}.volume_mounts.{volume}", path, f"unknown shared volume; known: {', '.join(SHARED_VOLUMES)}"
            )
            continue
        mount = _absolute_path(problems, f"{field}.volume_mounts.{volume}", path)
        if mount == "/tmp":
            problems.add(f"{field}.volume_mounts.{volume}", path, "'/tmp' is the sidecar's own scratch volume")
        elif mount in (m for _, m in mounts):
            problems.add(f"{field}.volume_mounts.{volume}", path, "is the mount path of another volume of this sidecar")
        mounts.append((volume, mount))

    return SidecarSettings(
        name=name if isinstance(name, str) else "",
        image=image,
        command=_string_list(problems, f"{field}.command", raw.get("command")),
        args=_string_list(problems, f"{field}.args", raw.get("args")),
        env=_env(problems, f"{field}.env", raw.get("env")),
        resources=_resources(problems, f"{field}.resources", raw.get("resources"), DEFAULT_SIDECAR_RESOURCES),
        ports=tuple(p for p in ports if is_int(p)),
        startup_probe=_probe(problems, f"{field}.startup_probe", raw.get("startup_probe")),
        volume_mounts=tuple(sorted(mounts)),
    )


def _database(problems: Problems, raw_value: Any, name: str, protect_data: bool) -> DatabaseSettings:
    raw = _mapping(problems, "database", raw_value)
    unknown_keys(problems, raw, PostgresArgs, "database.")
    image = _image(problems, "database.image", raw.get("image", DEFAULT_POSTGRES_IMAGE))

    storage, storage_class = raw.get("storage_size", "10Gi"), raw.get("storage_class")
    storage_problems(problems, "database", storage, storage_class, "10Gi")

    host = raw.get("host")
    provider = raw.get("provider", "external" if host is not None else "in-cluster")
    if provider not in rds.PROVIDERS:
        problems.add("database.provider", provider, f"must be one of {', '.join(rds.PROVIDERS)}")
        provider = "external" if host is not None else "in-cluster"
    if provider == "external" and host is None:
        problems.add("database.host", host, "is required with provider 'external': the existing server's host name")
    if host is not None:
        if provider != "external":
            problems.add("database.host", host, f"only applies to provider 'external' (provider is {provider!r})")
        elif not isinstance(host, str) or not _HOST.match(host):
            problems.add("database.host", host, "must be a host name or IP address")
        host = None if provider != "external" or not isinstance(host, str) or not _HOST.match(host) else host
    if provider != "in-cluster":
        for key in ("storage_size", "storage_class", "resources"):
            if key in raw:
                problems.add(f"database.{key}", raw[key], f"only applies to the in-cluster server (provider is {provider!r})")
    if "rds" in raw and provider != "rds":
        problems.add("database.rds", raw["rds"], f"only applies to provider 'rds' (provider is {provider!r})")
    port = _int(problems, "database.port", raw.get("port", 5432), 1, 65535)

    default_identifier = name.replace("-", "_")
    identifiers = {}
    for key in ("database_name", "username"):
        value = raw.get(key, default_identifier)
        if not isinstance(value, str) or not _PG_IDENTIFIER.match(value):
            problems.add(
                f"database.{key}",
                value,
                "must be a lower-case PostgreSQL identifier: letters, digits and '_', not starting "
                "with a digit, at most 63 characters",
            )
        elif key == "username" and value.startswith("pg_"):
            # CREATE ROLE refuses them: "role name "pg_x" is reserved" (initdb would fail).
            problems.add(f"database.{key}", value, "must not start with 'pg_': PostgreSQL reserves those role names")
        identifiers[key] = value

    return DatabaseSettings(
        image=image,
        storage_size=str(storage),
        storage_class=storage_class,
        resources=_resources(problems, "database.resources", raw.get("resources"), DEFAULT_POSTGRES_RESOURCES),
        database_name=identifiers["database_name"],
        username=identifiers["username"],
        port=port,
        host=host,
        provider=provider,
        rds=rds.normalise(problems, raw.get("rds"), protect_data, identifiers["username"], identifiers["database_name"], name)
        if provider == "rds"
        else None,
    )


def default_lock_key(namespace: str, name: str) -> int:
    """A signed 64-bit key that differs per app, stable across runs and Python versions."""
    digest = hashlib.sha256(f"djangoapp/{namespace}/{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _migrations(problems: Problems, args: Mapping[str, Any], name: str, namespace: str) -> MigrationSettings:
    mode = args.get("migrations", "init-container")
    if mode not in MIGRATION_MODES:
        problems.add("migrations", mode, f"must be one of {', '.join(MIGRATION_MODES)}")
        mode = "init-container"
    key = args.get("migration_lock_key", default_lock_key(namespace, name))
    if not is_int(key) or not -(2**63) <= key < 2**63:
        problems.add("migration_lock_key", key, "must be a signed 64-bit integer")
        key = 0
    timeout = args.get("migration_lock_timeout_seconds", 600)
    if not is_int(timeout) or timeout <= 0:
        problems.add("migration_lock_timeout_seconds", timeout, "must be an integer number of seconds greater than 0")
        timeout = 600
    release = args.get("migration_release")
    if release is not None and (not isinstance(release, str) or not re.match(r"^[a-z0-9]([-a-z0-9.]{0,30}[a-z0-9])?$", release)):
        problems.add("migration_release", release, "must be up to 32 lower-case letters, digits, '.' and '-'")
        release = None
    job_only = ("migration_job_backoff_limit", "migration_job_deadline_seconds", "migration_release")
    if mode != "job":
        for key_name in job_only:
            if key_name in args:
                problems.add(key_name, args[key_name], "only applies with migrations 'job'")
        # Processes (and schedules, unless migrations are none) wait in every mode.
        waits = args.get("processes") or (args.get("schedules") and mode != "none")
        if "migrations_wait_timeout_seconds" in args and not waits:
            problems.add("migrations_wait_timeout_seconds", args["migrations_wait_timeout_seconds"], "only applies with migrations 'job', processes or schedules (what waits for migrations)")
    return MigrationSettings(
        mode=mode,
        lock_key=key,
        lock_timeout_seconds=timeout,
        job_backoff_limit=_int(problems, "migration_job_backoff_limit", args.get("migration_job_backoff_limit", 2), 0, 20),
        job_deadline_seconds=_int(problems, "migration_job_deadline_seconds", args.get("migration_job_deadline_seconds", 900), 30, api_limits.INT64_MAX),
        release=release,
        wait_timeout_seconds=_int(problems, "migrations_wait_timeout_seconds", args.get("migrations_wait_timeout_seconds", 600), 1),
    )


def _kubernetes_minor(problems: Problems, value: Any) -> int:
    match = _KUBERNETES_VERSION.match(value) if isinstance(value, str) else None
    if not match:
        problems.add("kubernetes_version", value, "must look like '1.32' or '1.32.3'")
        return MIN_KUBERNETES_MINOR
    minor = int(match.group(1))
    if minor < MIN_KUBERNETES_MINOR:
        problems.add(
            "kubernetes_version",
            value,
            f"must be 1.{MIN_KUBERNETES_MINOR} or newer (the oldest version providers still support)",
        )
    return minor


def bind_address(ip_family: str, port: int) -> str:
    """gunicorn's --bind for every address of the pod: ``0.0.0.0:8000`` or ``[::]:8000``."""
    host = LISTEN_ADDRESSES[ip_family]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def default_command(port: int, workers: int, wsgi_application: str, ip_family: str = "ipv4") -> tuple[str, ...]:
    """Gunicorn, sized explicitly: it cannot see the container's CPU limit."""
    return (
        "gunicorn",
        "--bind", bind_address(ip_family, port),
        "--workers", str(workers),
        # Heartbeat files on the in-memory /tmp: a disk-backed dir can stall workers.
        "--worker-tmp-dir", "/tmp",
        # Below terminationGracePeriodSeconds minus the preStop sleep, so requests drain.
        "--graceful-timeout", str(GUNICORN_GRACEFUL_SECONDS),
        "--access-logfile", "-",
        wsgi_application,
    )  # fmt: skip


def _names(items: Any) -> set[str]:
    """The names in a list of mappings, whatever else is wrong with it (checked elsewhere)."""
    if not isinstance(items, (list, tuple)):
        return set()
    return {i["name"] for i in items if isinstance(i, Mapping) and isinstance(i.get("name"), str)}


def normalise(name: str, args: Mapping[str, Any]) -> Settings:
    """Validate ``args`` for a component called ``name``; raise ``ValidationError`` listing every
    problem, or return the frozen settings."""
    problems = Problems()
    if not isinstance(args, Mapping):
        problems.add("args", args, "must be a DjangoAppArgs mapping")
        problems.raise_if_any(f"DjangoApp {name!r}")
    args = _given(args)
    unknown_keys(problems, args, DjangoAppArgs, "")

    if dns_label_problem(name, MAX_NAME_LENGTH) or not name[:1].isalpha():
        problems.add(
            "name",
            name,
            f"must be a DNS-1123 label of at most {MAX_NAME_LENGTH} characters that starts with a "
            "letter (it names Services and a StatefulSet)",
        )

    if "image" not in args:
        problems.add("image", None, "is required: a pinned image reference such as 'ghcr.io/acme/shop:1.4.2'")
        image = ""
    else:
        image = _image(problems, "image", args["image"])

    namespace = args.get("namespace", name)
    problem = dns_label_problem(namespace)
    if problem:
        problems.add("namespace", namespace, problem)
    elif namespace in SYSTEM_NAMESPACES and args.get("create_namespace", True) is True:
        problems.add(
            "namespace",
            namespace,
            "is a namespace the cluster owns: deploy into it with create_namespace False, or choose another name",
        )

    scaling = autoscaling.normalise(problems, args.get("autoscaling"), args.get("replicas"))
    # With an autoscaler, replicas is the initial count (min_replicas unless given).
    replicas = _int(problems, "replicas", args.get("replicas", scaling.min_replicas if scaling else 2), 1)
    port = _int(problems, "port", args.get("port", 8000), 1, 65535)
    workers = _int(problems, "workers", args.get("workers", 2), 1, 64)

    wsgi = args.get("wsgi_application", "project.wsgi:application")
    if not isinstance(wsgi, str) or not re.match(r"^[A-Za-z_][\w.]*(:[A-Za-z_][\w.()]*)?$", wsgi):
        problems.add("wsgi_application", wsgi, "must be 'module.path:callable'")
    command = _string_list(problems, "command", args.get("command"))

    allowed_plaintext = args.get("plaintext_env_allowed", [])
    if not isinstance(allowed_plaintext, (list, tuple)) or not all(isinstance(v, str) for v in allowed_plaintext):
        problems.add("plaintext_env_allowed", allowed_plaintext, "must be a list of env names")
        allowed_plaintext = []

    sidecars_raw = args.get("sidecars") or []
    if not isinstance(sidecars_raw, (list, tuple)):
        problems.add("sidecars", sidecars_raw, "must be a list of SidecarArgs")
        sidecars_raw = []
    sidecars = tuple(
        s for s in (_sidecar(problems, i, raw, port) for i, raw in enumerate(sidecars_raw)) if s
    )
    seen: set[str] = set()
    ports_seen: dict[int, str] = {}
    for i, sidecar in enumerate(sidecars):
        if sidecar.name and sidecar.name in seen:
            problems.add(f"sidecars[{i}].name", sidecar.name, "is used by another sidecar; names must be unique")
        seen.add(sidecar.name)
        for j, sidecar_port in enumerate(dict.fromkeys(sidecar.ports)):
            if sidecar_port in ports_seen:
                # Only an API warning, but the second process cannot bind: it crash-loops.
                problems.add(f"sidecars[{i}].ports[{j}]", sidecar_port, f"is already the port of sidecar {ports_seen[sidecar_port]!r} (one pod, one network)")
            ports_seen.setdefault(sidecar_port, sidecar.name)

    health_path = args.get("health_path", "/healthz")
    if not isinstance(health_path, str) or not re.match(r"^/[^\s]*$", health_path):
        problems.add("health_path", health_path, "must be an absolute URL path such as '/healthz'")
    probe_host = args.get("probe_host", "localhost")
    if not isinstance(probe_host, str) or not _HOST.match(probe_host):
        problems.add("probe_host", probe_host, "must be a host name (labels of letters, digits and '-') that Django's ALLOWED_HOSTS accepts")

    protect_data = _bool(problems, "protect_data", args.get("protect_data", False))
    ip_family = _choice(problems, "ip_family", args.get("ip_family", "ipv4"), IP_FAMILIES)
    secrets_backend = backend(problems, args.get("secrets_backend", AWS_SECRETS_MANAGER))

    settings = Settings(
        name=name,
        namespace=namespace if isinstance(namespace, str) else "",
        create_namespace=_bool(problems, "create_namespace", args.get("create_namespace", True)),
        image=image,
        replicas=replicas,
        autoscaling=scaling,
        schedules=schedules.normalise(
            problems,
            args.get("schedules"),
            name if isinstance(name, str) else "",
            lambda field, value: _resources(problems, field, value, DEFAULT_APP_RESOURCES),
            {*BUILTIN_CONTAINERS, *(c.name for c in sidecars)},
        ),
        processes=processes.normalise(
            problems,
            args.get("processes"),
            name if isinstance(name, str) else "",
            lambda field, value: _resources(problems, field, value, DEFAULT_APP_RESOURCES),
            {*BUILTIN_CONTAINERS, *(c.name for c in sidecars), *_names(args.get("schedules"))},
        ),
        broker=broker.normalise(
            problems,
            args.get("broker"),
            lambda field, value, defaults: _resources(problems, field, value, defaults),
            lambda field, value: _image(problems, field, value),
        ),
        backups=backups.normalise(
            problems,
            args.get("backups"),
            isinstance(args.get("database"), Mapping)
            and (args["database"].get("host") is not None or args["database"].get("provider", "in-cluster") != "in-cluster"),
            secrets_backend == AWS_SECRETS_MANAGER,
        ),
        port=port,
        command=command or default_command(port, workers, wsgi if isinstance(wsgi, str) else "", ip_family),
        ip_family=ip_family,
        workers=workers,
        env=_env(problems, "env", args.get("env"), frozenset(allowed_plaintext)),
        resources=_resources(problems, "resources", args.get("resources"), DEFAULT_APP_RESOURCES),
        sidecars=sidecars,
        database=_database(problems, args.get("database"), name if isinstance(name, str) else "", protect_data is True),
        kubernetes_minor=_kubernetes_minor(problems, args.get("kubernetes_version", DEFAULT_KUBERNETES_VERSION)),
        health_path=health_path,
        probe_host=probe_host,
        run_as_user=_int(problems, "run_as_user", args.get("run_as_user", 10001), 10000, 2**31 - 1),
        network_policies=_bool(problems, "network_policies", args.get("network_policies", True)),
        db_wait_timeout_seconds=_int(
            problems, "db_wait_timeout_seconds", args.get("db_wait_timeout_seconds", 120), 1, 3600
        ),
        config_mount_path=_absolute_path(problems, "config_mount_path", args.get("config_mount_path", "/app/config")),
        secrets_mount_path=_absolute_path(
            problems, "secrets_mount_path", args.get("secrets_mount_path", "/run/secrets/app")
        ),
        secrets_backend=secrets_backend,
        config_files=config_files.gather(problems, args.get("config_files"), args.get("config_dir")),
        protect_data=protect_data,
        aws=normalise_aws(problems, args, secrets_backend, protect_data, f"DjangoApp {name!r}"),
        way_in=way_in.normalise(
            problems,
            args,
            args.get("aws_region"),
            args.get("network_policies", True) is True,
            namespace if isinstance(namespace, str) else "",
        ),
        migrations=_migrations(problems, args, name, namespace if isinstance(namespace, str) else ""),
        image_pull_policy=_choice(problems, "image_pull_policy", args.get("image_pull_policy", "Always"), ("Always", "IfNotPresent")),
    )
    problem = way_in.ipv6_problem(settings.way_in, settings.ip_family)
    if problem:
        problems.add(f"ingress.annotations.{way_in.IP_ADDRESS_TYPE}", dict(settings.way_in.annotations)[way_in.IP_ADDRESS_TYPE], problem)
    if settings.database.provider == "rds" and not settings.uses_aws:
        problems.add("database.provider", "rds", "needs the aws-secrets-manager backend: RDS keeps the master password in Secrets Manager")
    r, region = settings.database.rds, settings.aws.region if settings.aws is not None else None
    if r is not None and r.ca_bundle_url is None and isinstance(region, str) and rds.default_ca_bundle_url(region) is None:
        problems.add("database.rds.ca_bundle_url", None, rds.uncited_region_message(region))
    if settings.config_mount_path == settings.secrets_mount_path:
        problems.add("secrets_mount_path", settings.secrets_mount_path, "must differ from config_mount_path")
    for key in ("config_mount_path", "secrets_mount_path"):
        if getattr(settings, key) in APP_MOUNT_PATHS:
            problems.add(key, getattr(settings, key), f"is a mount path of the component's own volumes ({', '.join(APP_MOUNT_PATHS)})")
    env_bytes = sum(len(k.encode()) + len(v.encode()) for k, v in settings.env) + sum(
        len(k.encode()) + len(v.encode()) for c in settings.sidecars for k, v in c.env
    )
    if env_bytes > api_limits.MAX_ENV_BYTES:
        problems.add("env", f"{env_bytes} bytes", f"must stay under {api_limits.MAX_ENV_BYTES} bytes in total (the pod travels in one API object); deliver large values as config files")
    problems.raise_if_any(f"DjangoApp {name!r}")
    return settings

"""``DjangoAppArgs`` in, one validated and frozen ``Settings`` out.

Every argument is checked and every problem reported at once, before any resource exists; the
defaults come from ``DEFAULTS`` (``settings/args.py``), once. Everything after ``normalise`` reads
only ``Settings``.
"""

import re
from dataclasses import dataclass
from typing import Any, Mapping, Optional

from . import (
    autoscaling,
    backups,
    broker,
    cache,
    config_files,
    deploy_check,
    first_admin,
    mail,
    media,
    monitoring,
    processes,
    queue_autoscaling,
    rds,
    schedules,
    way_in,
)
from .args import DEFAULTS, DjangoAppArgs
from .autoscaling import AutoscalingSettings
from .aws import AWS_SECRETS_MANAGER, AwsSettings, backend, normalise_aws
from .backups import BackupSettings
from .broker import BrokerSettings
from .cache import CacheSettings
from .checks import (
    HOST_NAME,
    MAX_ENV_BYTES,
    Problems,
    checked_absolute_path,
    checked_bool,
    checked_choice,
    checked_image,
    checked_int,
    checked_string_list,
    dns_label_problem,
    given,
    unknown_keys,
)
from .database import DatabaseSettings, checked_database
from .deploy_check import DEFAULT_FAIL_LEVEL, DeployCheckSettings
from .env import checked_env
from .first_admin import FirstAdminSettings
from .mail import MailSettings
from .media import MediaSettings
from .migrations import MigrationSettings, checked_migrations
from .monitoring import MonitoringSettings
from .processes import ProcessSettings
from .queue_autoscaling import KedaSettings
from .resources import DEFAULT_APP_RESOURCES, Resources, checked_resources
from .schedules import ScheduleSettings
from .secret_files import SecretFile, secret_files
from .sidecars import BUILTIN_CONTAINERS, SidecarSettings, checked_sidecar
from .way_in import Hsts, WayIn

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")

# The app's own mounts besides config and secrets (builders/app.py).
APP_MOUNT_PATHS = ("/tmp", "/var/log/app")

_KUBERNETES_VERSION = re.compile(r"^v?1\.(0|[1-9][0-9]*)(?:\.(0|[1-9][0-9]*))?$")

IP_FAMILIES = ("ipv4", "ipv6")

# What a server binds to listen on every address of the pod, per family (unbracketed).
LISTEN_ADDRESSES = {"ipv4": "0.0.0.0", "ipv6": "::"}


# Component names become object names such as "<name>-postgres"; StatefulSet pods also carry
# the name plus a revision hash in a 63-character label, which leaves about 40 characters.
MAX_NAME_LENGTH = 40

# The oldest minor any major provider still supports in late 2026: EKS 1.32 is in extended
# support until 2027-03-23 (1.31's ended 2026-11-26); the EKS version calendar
# (docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html; endoflife.date/amazon-eks).
# From it on, native sidecars (beta, on from 1.29), the preStop sleep action (1.30) and the PDB's
# unhealthyPodEvictionPolicy (GA 1.31) all exist: no fallback paths are needed.
MIN_KUBERNETES_MINOR = 32


# wait-for-db only runs pg_isready in a loop.
WAIT_FOR_DB_RESOURCES = {
    "requests": {"cpu": "10m", "memory": "16Mi"},
    "limits": {"cpu": "100m", "memory": "64Mi"},
}

PRESTOP_MARGIN_SECONDS = 5

GUNICORN_GRACEFUL_SECONDS = 20


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
    way_in: Optional[WayIn] = None
    schedules: tuple[ScheduleSettings, ...] = ()
    autoscaling: Optional[AutoscalingSettings] = None
    processes: tuple[ProcessSettings, ...] = ()
    broker: Optional[BrokerSettings] = None
    backups: Optional[BackupSettings] = None
    cache: Optional[CacheSettings] = None
    mail: Optional[MailSettings] = None
    deploy_check: DeployCheckSettings = DeployCheckSettings(True, DEFAULT_FAIL_LEVEL, ())
    hsts: Hsts = Hsts()
    media: Optional[MediaSettings] = None
    first_admin: Optional[FirstAdminSettings] = None
    # With a process scaled on its queue: where the KEDA operator runs.
    keda: Optional[KedaSettings] = None
    monitoring: Optional[MonitoringSettings] = None
    # Secret files of one pod kind on top of the app's (the first-admin Job's password).
    pod_features: frozenset[str] = frozenset()

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
    def secret_files(self) -> tuple[SecretFile, ...]:
        """The secret files this pod reads (with a broker, a cache or mail, their URLs too)."""
        return secret_files(self.features | self.pod_features)

    @property
    def stored_secret_files(self) -> tuple[SecretFile, ...]:
        """Every secret file the secrets backend holds for this app (any pod's)."""
        return secret_files(self.features | ({"admin"} if self.first_admin else set()))

    @property
    def media_containers(self) -> frozenset[str]:
        """With media: the containers that run the app's own code (``django``, each process and
        schedule), the only ones besides the fetch steps that hold cloud credentials."""
        if self.media is None:
            return frozenset()
        return frozenset(
            {"django", *(p.name for p in self.processes), *(c.name for c in self.schedules)}
        )

    @property
    def features(self) -> frozenset[str]:
        """Which optional secret files this app has (``secret_files.FEATURES``)."""
        return frozenset(
            name
            for name, on in (("broker", self.broker), ("cache", self.cache), ("mail", self.mail))
            if on is not None
        )

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
            f"must be 1.{MIN_KUBERNETES_MINOR} or newer (the oldest version providers still support; "
            "0.1 accepted 1.25+: upgrade the cluster first, or stay on 0.1 until then)",
        )
    return minor


def bind_address(ip_family: str, port: int) -> str:
    """gunicorn's --bind for every address of the pod: ``0.0.0.0:8000`` or ``[::]:8000``."""
    host = LISTEN_ADDRESSES[ip_family]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def default_command(
    port: int, workers: int, wsgi_application: str, ip_family: str = "ipv4"
) -> tuple[str, ...]:
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


def _queue_scaled(raw: Any) -> bool:
    return isinstance(raw, (list, tuple)) and any(
        isinstance(p, Mapping) and p.get("queue_autoscaling") is not None for p in raw
    )


def normalise(name: str, args: Mapping[str, Any]) -> Settings:
    """Validate ``args`` for a component called ``name``; raise ``ValidationError`` listing every
    problem, or return the frozen settings."""
    problems = Problems()
    if not isinstance(args, Mapping):
        problems.add("args", args, "must be a DjangoAppArgs mapping")
        problems.raise_if_any(f"DjangoApp {name!r}")
    args = given(args)
    unknown_keys(problems, args, DjangoAppArgs, "")

    if dns_label_problem(name, MAX_NAME_LENGTH) or not name[:1].isalpha():
        problems.add(
            "name",
            name,
            f"must be a DNS-1123 label of at most {MAX_NAME_LENGTH} characters that starts with a "
            "letter (it names Services and a StatefulSet)",
        )

    if "image" not in args:
        problems.add(
            "image", None, "is required: a pinned image reference such as 'ghcr.io/acme/shop:1.4.2'"
        )
        image = ""
    else:
        image = checked_image(problems, "image", args["image"])

    namespace = args.get("namespace", name)
    problem = dns_label_problem(namespace)
    if problem:
        problems.add("namespace", namespace, problem)
    elif (
        namespace in SYSTEM_NAMESPACES
        and args.get("create_namespace", DEFAULTS["create_namespace"]) is True
    ):
        problems.add(
            "namespace",
            namespace,
            "is a namespace the cluster owns: deploy into it with create_namespace False, or choose another name",
        )

    scaling = autoscaling.normalise(problems, args.get("autoscaling"), args.get("replicas"))
    # With an autoscaler, replicas is the initial count (min_replicas unless given).
    replicas = checked_int(
        problems,
        "replicas",
        args.get("replicas", scaling.min_replicas if scaling else DEFAULTS["replicas"]),
        1,
    )
    port = checked_int(problems, "port", args.get("port", DEFAULTS["port"]), 1, 65535)
    workers = checked_int(problems, "workers", args.get("workers", DEFAULTS["workers"]), 1, 64)

    wsgi = args.get("wsgi_application", DEFAULTS["wsgi_application"])
    if not isinstance(wsgi, str) or not re.match(r"^[A-Za-z_][\w.]*(:[A-Za-z_][\w.()]*)?$", wsgi):
        problems.add("wsgi_application", wsgi, "must be 'module.path:callable'")
    command = checked_string_list(problems, "command", args.get("command"))

    allowed_plaintext = args.get("plaintext_env_allowed", [])
    if not isinstance(allowed_plaintext, (list, tuple)) or not all(
        isinstance(v, str) for v in allowed_plaintext
    ):
        problems.add("plaintext_env_allowed", allowed_plaintext, "must be a list of env names")
        allowed_plaintext = []

    sidecars_raw = args.get("sidecars") or []
    if not isinstance(sidecars_raw, (list, tuple)):
        problems.add("sidecars", sidecars_raw, "must be a list of SidecarArgs")
        sidecars_raw = []
    sidecars = tuple(
        s
        for s in (checked_sidecar(problems, i, raw, port) for i, raw in enumerate(sidecars_raw))
        if s
    )
    seen: set[str] = set()
    ports_seen: dict[int, str] = {}
    for i, sidecar in enumerate(sidecars):
        if sidecar.name and sidecar.name in seen:
            problems.add(
                f"sidecars[{i}].name",
                sidecar.name,
                "is used by another sidecar; names must be unique",
            )
        seen.add(sidecar.name)
        for j, sidecar_port in enumerate(dict.fromkeys(sidecar.ports)):
            if sidecar_port in ports_seen:
                # Only an API warning, but the second process cannot bind: it crash-loops.
                problems.add(
                    f"sidecars[{i}].ports[{j}]",
                    sidecar_port,
                    f"is already the port of sidecar {ports_seen[sidecar_port]!r} (one pod, one network)",
                )
            ports_seen.setdefault(sidecar_port, sidecar.name)

    health_path = args.get("health_path", DEFAULTS["health_path"])
    if not isinstance(health_path, str) or not re.match(r"^/[^\s]*$", health_path):
        problems.add("health_path", health_path, "must be an absolute URL path such as '/healthz'")
    probe_host = args.get("probe_host", DEFAULTS["probe_host"])
    if not isinstance(probe_host, str) or not HOST_NAME.match(probe_host):
        problems.add(
            "probe_host",
            probe_host,
            "must be a host name (labels of letters, digits and '-') that Django's ALLOWED_HOSTS accepts",
        )

    protect_data = checked_bool(
        problems,
        "protect_data",
        args.get("protect_data", DEFAULTS["protect_data"]),
        DEFAULTS["protect_data"],
    )
    ip_family = checked_choice(
        problems, "ip_family", args.get("ip_family", DEFAULTS["ip_family"]), IP_FAMILIES
    )
    secrets_backend = backend(problems, args.get("secrets_backend", DEFAULTS["secrets_backend"]))

    settings = Settings(
        name=name,
        namespace=namespace if isinstance(namespace, str) else "",
        create_namespace=checked_bool(
            problems,
            "create_namespace",
            args.get("create_namespace", DEFAULTS["create_namespace"]),
            DEFAULTS["create_namespace"],
        ),
        image=image,
        replicas=replicas,
        autoscaling=scaling,
        schedules=schedules.normalise(
            problems,
            args.get("schedules"),
            name if isinstance(name, str) else "",
            {*BUILTIN_CONTAINERS, *(c.name for c in sidecars)},
        ),
        processes=processes.normalise(
            problems,
            args.get("processes"),
            name if isinstance(name, str) else "",
            {*BUILTIN_CONTAINERS, *(c.name for c in sidecars), *_names(args.get("schedules"))},
        ),
        broker=broker.normalise(
            problems,
            args.get("broker"),
        ),
        cache=cache.normalise(problems, args.get("cache")),
        keda=queue_autoscaling.normalise_keda(problems, args.get("keda"))
        if _queue_scaled(args.get("processes")) or args.get("keda") is not None
        else None,
        first_admin=first_admin.normalise(problems, args.get("first_admin")),
        monitoring=monitoring.normalise(problems, args.get("monitoring")),
        media=media.normalise(problems, args.get("media"), secrets_backend == AWS_SECRETS_MANAGER),
        mail=mail.normalise(problems, args.get("mail")),
        deploy_check=deploy_check.normalise(problems, args.get("deploy_check")),
        hsts=way_in.normalise_hsts(
            problems,
            args.get("hsts"),
            args.get("ingress") is not None or args.get("http_route") is not None,
        ),
        backups=backups.normalise(
            problems,
            args.get("backups"),
            isinstance(args.get("database"), Mapping)
            and (
                args["database"].get("host") is not None
                or args["database"].get("provider", "in-cluster") != "in-cluster"
            ),
            secrets_backend == AWS_SECRETS_MANAGER,
        ),
        port=port,
        command=command
        or default_command(port, workers, wsgi if isinstance(wsgi, str) else "", ip_family),
        ip_family=ip_family,
        workers=workers,
        env=checked_env(problems, "env", args.get("env"), frozenset(allowed_plaintext)),
        resources=checked_resources(
            problems, "resources", args.get("resources"), DEFAULT_APP_RESOURCES
        ),
        sidecars=sidecars,
        database=checked_database(
            problems,
            args.get("database"),
            name if isinstance(name, str) else "",
            protect_data is True,
        ),
        kubernetes_minor=_kubernetes_minor(
            problems, args.get("kubernetes_version", DEFAULTS["kubernetes_version"])
        ),
        health_path=health_path,
        probe_host=probe_host,
        run_as_user=checked_int(
            problems,
            "run_as_user",
            args.get("run_as_user", DEFAULTS["run_as_user"]),
            10000,
            2**31 - 1,
        ),
        network_policies=checked_bool(
            problems,
            "network_policies",
            args.get("network_policies", DEFAULTS["network_policies"]),
            DEFAULTS["network_policies"],
        ),
        db_wait_timeout_seconds=checked_int(
            problems,
            "db_wait_timeout_seconds",
            args.get("db_wait_timeout_seconds", DEFAULTS["db_wait_timeout_seconds"]),
            1,
            3600,
        ),
        config_mount_path=checked_absolute_path(
            problems,
            "config_mount_path",
            args.get("config_mount_path", DEFAULTS["config_mount_path"]),
        ),
        secrets_mount_path=checked_absolute_path(
            problems,
            "secrets_mount_path",
            args.get("secrets_mount_path", DEFAULTS["secrets_mount_path"]),
        ),
        secrets_backend=secrets_backend,
        config_files=config_files.gather(
            problems, args.get("config_files"), args.get("config_dir")
        ),
        protect_data=protect_data,
        aws=normalise_aws(problems, args, secrets_backend, protect_data, f"DjangoApp {name!r}"),
        way_in=way_in.normalise(
            problems,
            args,
            args.get("aws_region"),
            args.get("network_policies", DEFAULTS["network_policies"]) is True,
            namespace if isinstance(namespace, str) else "",
        ),
        migrations=checked_migrations(
            problems, args, name, namespace if isinstance(namespace, str) else ""
        ),
        image_pull_policy=checked_choice(
            problems,
            "image_pull_policy",
            args.get("image_pull_policy", DEFAULTS["image_pull_policy"]),
            ("Always", "IfNotPresent"),
        ),
    )
    scaled = [p.name for p in settings.processes if p.queue_autoscaling]
    if scaled and not (settings.broker and settings.broker.in_cluster):
        problems.add(
            "processes[].queue_autoscaling",
            scaled,
            "needs the in-cluster broker (broker: {}): KEDA reads the queue with a read-only user "
            "of its ACL file; an external broker's credentials are not in a Kubernetes Secret",
        )
    if settings.keda and not scaled:
        problems.add("keda", args.get("keda"), "only applies with a process's queue_autoscaling")
    problem = cache.broker_problem(settings.cache, settings.broker.url if settings.broker else None)
    if problem:
        problems.add("cache.url", broker.redacted(args["cache"].get("url")), problem)
    if (
        settings.media
        and settings.media.separate_audience
        and settings.aws
        and settings.aws.pod_identity
    ):
        problems.add(
            "media.token_audience",
            settings.media.token_audience,
            "only applies with aws_credentials 'web-identity': Pod Identity has no token audience",
        )
    problem = way_in.ipv6_problem(settings.way_in, settings.ip_family)
    if problem:
        problems.add(
            f"ingress.annotations.{way_in.IP_ADDRESS_TYPE}",
            dict(settings.way_in.annotations)[way_in.IP_ADDRESS_TYPE],
            problem,
        )
    if settings.database.provider == "rds" and not settings.uses_aws:
        problems.add(
            "database.provider",
            "rds",
            "needs the aws-secrets-manager backend: RDS keeps the master password in Secrets Manager",
        )
    r, region = settings.database.rds, settings.aws.region if settings.aws is not None else None
    if (
        r is not None
        and r.ca_bundle_url is None
        and isinstance(region, str)
        and rds.default_ca_bundle_url(region) is None
    ):
        problems.add("database.rds.ca_bundle_url", None, rds.uncited_region_message(region))
    if settings.config_mount_path == settings.secrets_mount_path:
        problems.add(
            "secrets_mount_path", settings.secrets_mount_path, "must differ from config_mount_path"
        )
    for key in ("config_mount_path", "secrets_mount_path"):
        if getattr(settings, key) in APP_MOUNT_PATHS:
            problems.add(
                key,
                getattr(settings, key),
                f"is a mount path of the component's own volumes ({', '.join(APP_MOUNT_PATHS)})",
            )
    env_bytes = sum(len(k.encode()) + len(v.encode()) for k, v in settings.env) + sum(
        len(k.encode()) + len(v.encode()) for c in settings.sidecars for k, v in c.env
    )
    if env_bytes > MAX_ENV_BYTES:
        problems.add(
            "env",
            f"{env_bytes} bytes",
            f"must stay under {MAX_ENV_BYTES} bytes in total (the pod travels in one API object); deliver large values as config files",
        )
    problems.raise_if_any(f"DjangoApp {name!r}")
    return settings

"""Public arguments of :class:`~pulumi_djangoapp.DjangoApp`.

They are ``TypedDict`` s so that they work the same when the component is used from Python and
when it is hosted for other languages, where arguments arrive as plain dicts; the docstring under
each field is its schema description and states its default.
"""

import re
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, NotRequired, Optional, TypedDict

import pulumi

from . import (
    autoscaling,
    backups,
    broker,
    config_files,
    processes,
    rds,
    schedules,
    way_in,
)
from .autoscaling import AutoscalingArgs, AutoscalingSettings
from .aws import AWS_SECRETS_MANAGER, AwsSettings, backend, normalise_aws
from .backups import BackupArgs, BackupSettings
from .broker import BrokerArgs, BrokerSettings
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
from .database import DatabaseSettings, PostgresArgs, checked_database
from .env import checked_env
from .migrations import MigrationSettings, checked_migrations
from .processes import ProcessArgs, ProcessSettings
from .resources import DEFAULT_APP_RESOURCES, Resources, ResourcesArgs, checked_resources
from .schedules import ScheduleArgs, ScheduleSettings
from .secret_files import SecretFile, secret_files
from .sidecars import BUILTIN_CONTAINERS, SidecarArgs, SidecarSettings, checked_sidecar
from .way_in import HttpRouteArgs, IngressArgs, WayIn


class DjangoAppArgs(TypedDict):
    """Arguments of a Django deployment with its own PostgreSQL, secrets and sidecars."""

    image: str
    """Pinned image of the Django app (tag or digest, never ``latest``); also runs the migrate
    step. Required."""
    namespace: NotRequired[str]
    """Kubernetes namespace. Default: the component name."""
    create_namespace: NotRequired[bool]
    """Create and own the namespace (with a default-deny NetworkPolicy). ``False`` deploys into an
    existing one. Default: ``True``."""
    replicas: NotRequired[int]
    """Number of Django pods; with ``autoscaling`` the initial count, between its bounds.
    Default: ``2`` (with autoscaling: ``min_replicas``)."""
    ingress: NotRequired[IngressArgs]
    """A way in through an Ingress, an ALB by default. Exclusive with ``http_route``. Default:
    none (reach the app with ``kubectl port-forward``)."""
    http_route: NotRequired[HttpRouteArgs]
    """A way in through a Gateway API HTTPRoute to a Gateway the platform owns. Default: none."""
    schedules: NotRequired[List[ScheduleArgs]]
    """Management commands on a schedule: a CronJob each with the web pod's plumbing, waiting
    for migrations, never running them. Default: none."""
    autoscaling: NotRequired[AutoscalingArgs]
    """An HPA on the django container's CPU (and memory). Default: none (fixed replicas)."""
    processes: NotRequired[List[ProcessArgs]]
    """Long-running processes from the app image (Celery worker, beat): a Deployment each with
    the web pod's plumbing, waiting for migrations, never running them. Default: none."""
    backups: NotRequired[BackupArgs]
    """Scheduled ``pg_dump`` of the in-cluster database to an S3 bucket of its own, with a
    restore Job (README "Backups and restore"). Default: none."""
    broker: NotRequired[BrokerArgs]
    """A task broker: an in-cluster Valkey or an external ``redis://``/``rediss://`` server; the
    app reads its URL from ``BROKER_URL_FILE``. Default: none."""
    port: NotRequired[int]
    """Port gunicorn listens on, also the Service port. Default: ``8000``."""
    command: NotRequired[List[str]]
    """Command of the ``django`` container. Default: gunicorn serving ``wsgi_application`` on
    ``port`` with ``workers`` workers and its heartbeat files on the in-memory ``/tmp``."""
    wsgi_application: NotRequired[str]
    """WSGI callable for the default command. Default: ``project.wsgi:application`` (not ``config.*``: the
    config volume is mounted at ``/app/config`` and would hide such a package)."""
    ip_family: NotRequired[str]
    """Address family of the cluster's pods: ``ipv4`` (gunicorn binds ``0.0.0.0``) or ``ipv6``
    (binds ``[::]``, which also accepts IPv4 where the node allows dual-stack sockets). A server
    bound to the other family refuses the kubelet's probes; binding ``[::]`` fails where the
    kernel has IPv6 off, so this follows the cluster instead of always binding ``[::]``.
    Default: ``ipv4``."""
    workers: NotRequired[int]
    """Gunicorn workers (also ``WEB_CONCURRENCY``); gunicorn cannot see the CPU limit. Default:
    ``2``."""
    env: NotRequired[Dict[str, str]]
    """Non-secret environment variables of the app and its migrate step. Names that look like
    secrets (``*PASSWORD*``, ``*TOKEN*``, ...) and URLs with a password are refused unless listed
    in ``plaintext_env_allowed``. Default: none."""
    plaintext_env_allowed: NotRequired[List[str]]
    """Env names exempt from the secret-looking-name check, for values you know are not secret.
    Default: none."""
    resources: NotRequired[ResourcesArgs]
    """Requests and limits of the ``django`` container (the migrate step gets the same). Default:
    requests cpu 250m / memory 256Mi, limits cpu 1 / memory 512Mi."""
    sidecars: NotRequired[List[SidecarArgs]]
    """Native sidecars, started in this order before the init steps. Default: none."""
    database: NotRequired[PostgresArgs]
    """The in-cluster PostgreSQL server. Default: PostgreSQL 17.6 from AWS's public mirror of the
    official image, with 10Gi of storage."""
    kubernetes_version: NotRequired[str]
    """Oldest Kubernetes version (``1.32`` or ``1.32.3``) the manifests must work on; 1.32 is the
    oldest any major provider still supports (EKS extended support). Default: ``1.32``."""
    health_path: NotRequired[str]
    """HTTP path of the startup, readiness and liveness probes. Default: ``/healthz``."""
    probe_host: NotRequired[str]
    """Host header of the probes; must be in Django's ``ALLOWED_HOSTS``. Default: ``localhost``."""
    run_as_user: NotRequired[int]
    """UID (and GID, fsGroup) of the app pod's containers; at least 10000. Default: ``10001``."""
    network_policies: NotRequired[bool]
    """Create NetworkPolicies (app reachable on its port, Postgres only from the app, default deny
    in an owned namespace). Default: ``True``."""
    db_wait_timeout_seconds: NotRequired[int]
    """How long ``wait-for-db`` waits for PostgreSQL before failing the pod. Default: ``120``."""
    config_mount_path: NotRequired[str]
    """Where the config volume is mounted (read-only) in the app. Default: ``/app/config``."""
    secrets_mount_path: NotRequired[str]
    """Where the secret files are mounted (read-only, in memory). Default: ``/run/secrets/app``."""
    secrets_backend: NotRequired[str]
    """Where secrets and config live: ``aws-secrets-manager`` (Secrets Manager and an S3 bucket,
    fetched by init containers) or ``kubernetes`` (a Secret and a ConfigMap, no AWS at all).
    Default: ``aws-secrets-manager``."""
    config_files: NotRequired[Dict[str, str]]
    """Config files by relative name (``{"settings.toml": "..."}``), delivered read-only under
    ``config_mount_path``; they override files of the same name from ``config_dir``. A change
    rolls the pods. Default: none."""
    config_dir: NotRequired[str]
    """A local folder whose files (recursively) become config files. Default: none."""
    protect_data: NotRequired[bool]
    """Protect and retain the data: config bucket, secrets, generated passwords and the Postgres
    StatefulSet get ``protect`` and ``retain_on_delete``; secret deletion keeps a recovery window.
    Default: ``False``."""
    aws_region: NotRequired[pulumi.Input[str]]
    """Region the fetch steps talk to. Default: the AWS provider's region."""
    aws_region_check: NotRequired[bool]
    """Warn when ``aws_region`` is not a region this version knows (the list ages, so it only
    warns). Default: ``True``."""
    aws_credentials: NotRequired[str]
    """How the fetch steps (and only they) get AWS credentials: ``web-identity`` (a role trusting
    the cluster's IAM OIDC provider, with a projected token mounted into the fetch steps alone;
    needs ``oidc_provider_arn`` and ``oidc_provider_url``) or ``pod-identity`` (an EKS Pod
    Identity association in ``eks_cluster_name``, the webhook told to skip every other
    container). Required with the AWS backend; default: ``web-identity`` when the OIDC provider
    arguments are given."""
    eks_cluster_name: NotRequired[pulumi.Input[str]]
    """EKS cluster of the Pod Identity association (``pod-identity`` only). Default: none."""
    oidc_provider_arn: NotRequired[pulumi.Input[str]]
    """IAM OIDC provider of the cluster (may be an Output, e.g. a platform stack's StackReference;
    then it is checked once known); with ``oidc_provider_url`` it creates a role that only
    the fetch steps can assume (``web-identity``). Default: none."""
    oidc_provider_url: NotRequired[pulumi.Input[str]]
    """Issuer URL of the same provider (``https://oidc.eks.<region>.amazonaws.com/id/<ID>``).
    Default: none."""
    kms_key_arn: NotRequired[pulumi.Input[str]]
    """Customer KMS key for the bucket and the secrets (and ``kms:Decrypt`` for the role).
    Default: AWS managed keys."""
    aws_endpoint_url: NotRequired[str]
    """``AWS_ENDPOINT_URL`` of the fetch steps only (LocalStack, moto). Default: none (AWS)."""
    secret_recovery_window_days: NotRequired[int]
    """Days a deleted secret can be restored: 7 to 30, or 0 to delete at once (not with
    ``protect_data``). Default: ``30``."""
    config_bucket_force_destroy: NotRequired[bool]
    """Let ``pulumi destroy`` delete a non-empty config bucket (dev stacks; not with
    ``protect_data``). Default: ``False``."""
    aws_cli_image: NotRequired[str]
    """Pinned image of the fetch steps. Default: ``public.ecr.aws/aws-cli/aws-cli:2.31.0`` (the
    Docker Hub image ``amazon/aws-cli``, from AWS's public registry: no anonymous pull limit)."""
    image_pull_policy: NotRequired[str]
    """Pull policy of every container. ``Always`` re-checks the registry (and its credentials) at
    each pod start, so a node's cached copy of a private image serves only pods allowed to pull
    it. Default: ``Always``; ``IfNotPresent`` is the opt-out."""
    migrations: NotRequired[str]
    """How migrations run: ``init-container`` (every pod, serialised by a Postgres advisory lock),
    ``job`` (one Job per release, awaited before the Deployment; pods wait for it) or ``none``.
    Default: ``init-container``."""
    migration_lock_key: NotRequired[int]
    """Key of the session advisory lock (signed 64-bit). Default: derived from namespace and
    name, so two apps on one server never share it."""
    migration_lock_timeout_seconds: NotRequired[int]
    """How long a migrate step waits for the lock before failing. Default: ``600``."""
    migration_job_backoff_limit: NotRequired[int]
    """Retries of the migration Job. Default: ``2``."""
    migration_job_deadline_seconds: NotRequired[int]
    """``activeDeadlineSeconds`` of the migration Job. Default: ``900``."""
    migration_release: NotRequired[str]
    """Extra release label mixed into the Job name (re-run migrations for the same image).
    Default: none."""
    migrations_wait_timeout_seconds: NotRequired[int]
    """How long ``wait-for-migrations`` waits (``job`` mode, processes, schedules). Default: ``600``."""


# Namespaces the cluster itself owns: the component must never create, label or delete them.
SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")

# The app's own mounts besides config and secrets (app_pod.py).
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

DEFAULT_KUBERNETES_VERSION = "1.32"


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
        """The secret files this app's pods read (with a broker, its URL too)."""
        return secret_files(self.broker is not None)

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
            f"must be 1.{MIN_KUBERNETES_MINOR} or newer (the oldest version providers still support)",
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
    elif namespace in SYSTEM_NAMESPACES and args.get("create_namespace", True) is True:
        problems.add(
            "namespace",
            namespace,
            "is a namespace the cluster owns: deploy into it with create_namespace False, or choose another name",
        )

    scaling = autoscaling.normalise(problems, args.get("autoscaling"), args.get("replicas"))
    # With an autoscaler, replicas is the initial count (min_replicas unless given).
    replicas = checked_int(
        problems, "replicas", args.get("replicas", scaling.min_replicas if scaling else 2), 1
    )
    port = checked_int(problems, "port", args.get("port", 8000), 1, 65535)
    workers = checked_int(problems, "workers", args.get("workers", 2), 1, 64)

    wsgi = args.get("wsgi_application", "project.wsgi:application")
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

    health_path = args.get("health_path", "/healthz")
    if not isinstance(health_path, str) or not re.match(r"^/[^\s]*$", health_path):
        problems.add("health_path", health_path, "must be an absolute URL path such as '/healthz'")
    probe_host = args.get("probe_host", "localhost")
    if not isinstance(probe_host, str) or not HOST_NAME.match(probe_host):
        problems.add(
            "probe_host",
            probe_host,
            "must be a host name (labels of letters, digits and '-') that Django's ALLOWED_HOSTS accepts",
        )

    protect_data = checked_bool(problems, "protect_data", args.get("protect_data", False), False)
    ip_family = checked_choice(problems, "ip_family", args.get("ip_family", "ipv4"), IP_FAMILIES)
    secrets_backend = backend(problems, args.get("secrets_backend", AWS_SECRETS_MANAGER))

    settings = Settings(
        name=name,
        namespace=namespace if isinstance(namespace, str) else "",
        create_namespace=checked_bool(
            problems, "create_namespace", args.get("create_namespace", True), True
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
            problems, args.get("kubernetes_version", DEFAULT_KUBERNETES_VERSION)
        ),
        health_path=health_path,
        probe_host=probe_host,
        run_as_user=checked_int(
            problems, "run_as_user", args.get("run_as_user", 10001), 10000, 2**31 - 1
        ),
        network_policies=checked_bool(
            problems, "network_policies", args.get("network_policies", True), True
        ),
        db_wait_timeout_seconds=checked_int(
            problems, "db_wait_timeout_seconds", args.get("db_wait_timeout_seconds", 120), 1, 3600
        ),
        config_mount_path=checked_absolute_path(
            problems, "config_mount_path", args.get("config_mount_path", "/app/config")
        ),
        secrets_mount_path=checked_absolute_path(
            problems, "secrets_mount_path", args.get("secrets_mount_path", "/run/secrets/app")
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
            args.get("network_policies", True) is True,
            namespace if isinstance(namespace, str) else "",
        ),
        migrations=checked_migrations(
            problems, args, name, namespace if isinstance(namespace, str) else ""
        ),
        image_pull_policy=checked_choice(
            problems,
            "image_pull_policy",
            args.get("image_pull_policy", "Always"),
            ("Always", "IfNotPresent"),
        ),
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

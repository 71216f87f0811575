"""Public arguments of :class:`~pulumi_djangoapp.DjangoApp` and their defaults.

They are ``TypedDict`` s so that they work the same when the component is used from Python and
when it is hosted for other languages, where arguments arrive as plain dicts; the docstring under
each field is its schema description and states its default. ``DEFAULTS`` below holds each
default once: ``normalise`` and the stack config table read it, and a test holds every docstring's
``Default:`` to it.
"""

from types import MappingProxyType
from typing import Any, Dict, List, Mapping, NotRequired, TypedDict

import pulumi

from .autoscaling import AutoscalingArgs
from .backups import BackupArgs
from .broker import BrokerArgs
from .cache import CacheArgs
from .database import PostgresArgs
from .deploy_check import DeployCheckArgs
from .first_admin import FirstAdminArgs
from .mail import MailArgs
from .media import MediaArgs
from .monitoring import MonitoringArgs
from .processes import ProcessArgs
from .queue_autoscaling import KedaArgs
from .resources import ResourcesArgs
from .schedules import ScheduleArgs
from .sidecars import SidecarArgs
from .way_in import HstsArgs, HttpRouteArgs, IngressArgs


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
    cache: NotRequired[CacheArgs]
    """Django's cache: an in-cluster Valkey of its own (evicting, nothing persisted) or an external
    ``redis://``/``rediss://`` server, never the broker's; the app reads its URL from
    ``CACHE_URL_FILE``. Default: none (Django's per-process memory cache)."""
    mail: NotRequired[MailArgs]
    """Outgoing mail through an SMTP server (SES SMTP or a relay); the app reads the URL with the
    password from ``EMAIL_URL_FILE`` and the senders from ``DJANGO_DEFAULT_FROM_EMAIL`` and
    ``DJANGO_SERVER_EMAIL``. Default: none."""
    media: NotRequired[MediaArgs]
    """User uploads: an S3 bucket of the app's own, and keyless access for the app's containers
    to exactly its prefix (``DJANGO_MEDIA_BUCKET``, ``DJANGO_MEDIA_PREFIX``). Default: none."""
    monitoring: NotRequired[MonitoringArgs]
    """Prometheus Operator PodMonitors, the broker's exporter, process heartbeats as metrics and a
    PrometheusRule of alerts (README "Metrics and alerts"). Default: none."""
    keda: NotRequired[KedaArgs]
    """Where the KEDA operator runs, for the broker's NetworkPolicy (with a process's
    ``queue_autoscaling``). Default: namespace ``keda``, pods ``app: keda-operator``."""
    first_admin: NotRequired[FirstAdminArgs]
    """A superuser for a fresh install: a generated password in the secrets backend and a Job that
    creates the user once and never resets it. Default: none."""
    deploy_check: NotRequired[DeployCheckArgs]
    """``manage.py check --deploy`` as a release gate, in the release step of every migrations
    mode. Default: on, failing at ``WARNING``."""
    hsts: NotRequired[HstsArgs]
    """``Strict-Transport-Security`` over the TLS way in. Default: a year, with subdomains, no
    preload."""
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
    rollback_gate: NotRequired[bool]
    """Refuse at ``pulumi up`` an image older than the applied schema (migrations the database
    has and the image does not know): checked once per release, before its pods roll out; pods
    of the previous release that restart meanwhile are never refused (README "Rolling back").
    ``False`` lets such an image start. Default: ``True``."""
    migrations_wait_timeout_seconds: NotRequired[int]
    """How long ``wait-for-migrations`` waits (``job`` mode, processes, schedules). Default: ``600``."""


# Namespaces the cluster itself owns: the component must never create, label or delete them.


# The default of every scalar argument, as its docstring states it (a test compares them).
DEFAULTS: Mapping[str, Any] = MappingProxyType(
    {
        "create_namespace": True,
        "replicas": 2,
        "port": 8000,
        "wsgi_application": "project.wsgi:application",
        "ip_family": "ipv4",
        "workers": 2,
        "kubernetes_version": "1.32",
        "health_path": "/healthz",
        "probe_host": "localhost",
        "run_as_user": 10001,
        "network_policies": True,
        "db_wait_timeout_seconds": 120,
        "config_mount_path": "/app/config",
        "secrets_mount_path": "/run/secrets/app",
        "secrets_backend": "aws-secrets-manager",
        "protect_data": False,
        "aws_region_check": True,
        "secret_recovery_window_days": 30,
        "config_bucket_force_destroy": False,
        # The Docker Hub amazon/aws-cli, from AWS's own registry.
        "aws_cli_image": "public.ecr.aws/aws-cli/aws-cli:2.31.0",
        "image_pull_policy": "Always",
        "migrations": "init-container",
        "migration_lock_timeout_seconds": 600,
        "migration_job_backoff_limit": 2,
        "migration_job_deadline_seconds": 900,
        "migrations_wait_timeout_seconds": 600,
        "rollback_gate": True,
    }
)

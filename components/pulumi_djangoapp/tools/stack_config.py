"""Typed stack configuration (``Pulumi.<stack>.yaml``) to ``DjangoAppArgs``.

Pulumi's project config can only declare scalar and array types, so the structured arguments are
spread over flat keys. ``CONFIG_KEYS`` is the single table of them: ``Pulumi.yaml`` declares
exactly these (a test holds the two together), and every error names the config key.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, Union

from ..settings import storage_class
from ..settings.app import LISTEN_ADDRESSES, normalise
from ..settings.args import DEFAULTS, DjangoAppArgs
from ..settings.aws import AWS_SECRETS_MANAGER, BACKENDS
from ..settings.backups import DEFAULT_DRILL_MAX_ARCHIVE_AGE_HOURS
from ..settings.checks import Problem, ValidationError
from ..settings.database import DEFAULT_POSTGRES_IMAGE, DEFAULT_POSTGRES_RESOURCES
from ..settings.deploy_check import DEFAULT_FAIL_LEVEL
from ..settings.media import DEFAULT_NONCURRENT_DAYS
from ..settings.resources import DEFAULT_APP_RESOURCES
from ..settings.way_in import Hsts

LOG_SHIPPER_PORT = 2020

# What a stack file of an earlier release lacks, said where the key is reported (CHANGELOG.md).
UPGRADE_NOTES = {
    "kubeContext": " (since 0.2.0; in 0.1 an empty value meant the current context: set the one you "
    "deployed with, `kubectl config current-context`)",
}


@dataclass(frozen=True)
class ConfigKey:
    key: str
    type: str  # string | integer | boolean | array (of strings)
    description: str
    default: Any = None
    # Where the value goes in the args ("resources.requests.cpu"); errors there name this key.
    arg: Optional[str] = None

    @property
    def required(self) -> bool:
        return self.default is None


CONFIG_KEYS: tuple[ConfigKey, ...] = (
    ConfigKey("appName", "string", "Name of the DjangoApp component and of its objects.", "django", "name"),
    ConfigKey("image", "string", "Pinned image of the Django app (tag or digest).", None, "image"),
    ConfigKey("namespace", "string", "Namespace; empty means the app name.", "", "namespace"),
    ConfigKey("replicas", "integer", "Number of Django pods.", DEFAULTS["replicas"], "replicas"),
    ConfigKey("port", "integer", "Port gunicorn listens on.", DEFAULTS["port"], "port"),
    ConfigKey("ipFamily", "string", "Address family of the cluster's pods: ipv4 or ipv6.", DEFAULTS["ip_family"], "ip_family"),
    ConfigKey("workers", "integer", "Gunicorn workers per pod.", DEFAULTS["workers"], "workers"),
    ConfigKey("kubernetesVersion", "string", "Oldest Kubernetes version of the cluster (1.32+).", DEFAULTS["kubernetes_version"], "kubernetes_version"),
    ConfigKey("cpuRequest", "string", "CPU request of the django container.", DEFAULT_APP_RESOURCES["requests"]["cpu"], "resources.requests.cpu"),
    ConfigKey("memoryRequest", "string", "Memory request of the django container.", DEFAULT_APP_RESOURCES["requests"]["memory"], "resources.requests.memory"),
    ConfigKey("cpuLimit", "string", "CPU limit of the django container.", DEFAULT_APP_RESOURCES["limits"]["cpu"], "resources.limits.cpu"),
    ConfigKey("memoryLimit", "string", "Memory limit of the django container.", DEFAULT_APP_RESOURCES["limits"]["memory"], "resources.limits.memory"),
    ConfigKey("env", "array", "Non-secret environment variables, each 'NAME=value'.", [], "env"),
    ConfigKey("wayIn", "string", "How traffic reaches the app: none, ingress (an ALB) or http-route (a Gateway API route).", "none", None),
    ConfigKey("hosts", "array", "DNS names the app answers on (ingress and http-route).", [], "ingress.hosts"),
    ConfigKey("ingressCidrs", "array", "Where the ALB's traffic comes from (the CIDRs of its own subnets, not the VPC's), admitted by the NetworkPolicy.", [], "ingress.ingress_cidrs"),
    ConfigKey("ingressScheme", "string", "internet-facing or internal.", "internet-facing", "ingress.scheme"),
    ConfigKey("certificateArns", "array", "ACM certificates of the ALB; empty means discovered from the hosts.", [], "ingress.certificate_arns"),
    ConfigKey("ingressGroup", "string", "ALB group to share; empty means an ALB of its own.", "", "ingress.group_name"),
    ConfigKey("externalDns", "boolean", "Annotate the Ingress for ExternalDNS.", False, "ingress.external_dns"),
    ConfigKey("gatewayName", "string", "Gateway of an http-route (owned by the platform).", "", "http_route.parent_refs"),
    ConfigKey("gatewayNamespace", "string", "Namespace of that Gateway.", "", "http_route.gateway_namespace"),
    ConfigKey("gatewaySourceCidrs", "array", "Where the Gateway's traffic comes from when its data plane is not pods (kind: the Docker network's subnet), admitted by the NetworkPolicy instead of the Gateway's namespace.", [], "http_route.source_cidrs"),
    ConfigKey("schedules", "array", "Scheduled management commands, each 'name|cron|command words[|time zone]'.", [], "schedules"),
    ConfigKey("processes", "array", "Background processes, each 'name|command words' or 'name|command words|replicas' or 'name|command words|singleton' or 'name|command words|queue:MIN-MAX' (scaled by KEDA on its Celery queue, the in-cluster broker only).", [], "processes"),
    ConfigKey("monitoringScraperNamespace", "string", "Namespace of the Prometheus that scrapes the app; empty means no PodMonitors, exporters or alerts.", "", "monitoring.scraper.namespace"),
    ConfigKey("monitoringScraperPodLabels", "array", "Labels of the Prometheus pods, each 'name=value': the NetworkPolicies admit only them to the metrics ports.", [], "monitoring.scraper.pod_labels"),
    ConfigKey("monitoringLabels", "array", "Labels on the PodMonitors and the PrometheusRule, each 'name=value' (the Prometheus' selectors).", [], "monitoring.labels"),
    ConfigKey("monitoringAppMetricsPath", "string", "Path of the app's own metrics on its port; 'none' means the app serves none.", "/metrics", "monitoring.app_metrics_path"),
    ConfigKey("kedaNamespace", "string", "Namespace of the KEDA operator the broker admits (with a queue:MIN-MAX process); empty means keda.", "", "keda.namespace"),
    ConfigKey("broker", "string", "Task broker: none, in-cluster (Valkey, on databaseStorageClass) or an external redis:// or rediss:// URL without password.", "none", "broker"),
    ConfigKey("brokerImage", "string", "Pinned image of the in-cluster broker (a Docker Hub mirror such as an ECR pull-through cache); empty means docker.io/valkey/valkey.", "", "broker.image"),
    ConfigKey("cache", "string", "Django's cache: none, in-cluster (a Valkey of its own that evicts and keeps nothing) or an external redis:// or rediss:// URL without password (never the broker's).", "none", "cache"),
    ConfigKey("cacheImage", "string", "Pinned image of the in-cluster cache; empty means the broker's default Valkey image.", "", "cache.image"),
    ConfigKey("media", "boolean", "User uploads in an S3 bucket of the app's own; the app's containers get keyless access to its prefix (aws-secrets-manager backend).", False, None),
    ConfigKey("mediaCorsOrigins", "array", "https:// origins allowed to upload from a browser with presigned URLs; empty means no CORS rule.", [], "media.cors_origins"),
    ConfigKey("mediaNoncurrentVersionDays", "integer", "Days an overwritten or deleted upload stays restorable.", DEFAULT_NONCURRENT_DAYS, "media.noncurrent_version_days"),
    ConfigKey("mediaTokenAudience", "string", "Audience of the app containers' web-identity token (registered on the cluster's OIDC provider); empty means sts.amazonaws.com.", "", "media.token_audience"),
    ConfigKey("rollbackGate", "boolean", "Refuse at up an image older than the applied schema (README: Rolling back).", DEFAULTS["rollback_gate"], "rollback_gate"),
    ConfigKey("firstAdmin", "boolean", "Create a superuser once (a Job) with a generated password kept in the secrets backend; never reset.", False, None),
    ConfigKey("firstAdminUsername", "string", "Username of the first admin; empty means admin.", "", "first_admin.username"),
    ConfigKey("firstAdminEmail", "string", "Email address of the first admin; empty means none.", "", "first_admin.email"),
    ConfigKey("mailUrl", "string", "SMTP server: smtp://user@host:port (STARTTLS) or smtps:// (TLS), without password; empty means no mail settings.", "", "mail.url"),
    ConfigKey("mailPassword", "string", "The SMTP password: set it with `pulumi config set --secret`; a plain value is refused.", "", "mail.password"),
    ConfigKey("mailFrom", "string", "DEFAULT_FROM_EMAIL: the sender of the site's mail (required with mailUrl).", "", "mail.default_from_email"),
    ConfigKey("mailServerEmail", "string", "SERVER_EMAIL: the sender of error mail; empty means mailFrom.", "", "mail.server_email"),
    ConfigKey("hstsSeconds", "integer", "Strict-Transport-Security max-age over the TLS way in; 0 sends none.", Hsts().seconds, "hsts.seconds"),
    ConfigKey("hstsIncludeSubdomains", "boolean", "HSTS for every subdomain of the hosts too.", Hsts().include_subdomains, "hsts.include_subdomains"),
    ConfigKey("hstsPreload", "boolean", "Ask for the browsers' HSTS preload lists (the domain owner's commitment).", Hsts().preload, "hsts.preload"),
    ConfigKey("deployCheck", "boolean", "Run manage.py check --deploy as the release gate.", True, "deploy_check.enabled"),
    ConfigKey("deployCheckFailLevel", "string", "Least severe level that fails the release: WARNING, ERROR, CRITICAL, INFO or DEBUG.", DEFAULT_FAIL_LEVEL, "deploy_check.fail_level"),
    ConfigKey("deployCheckSilenced", "array", "Check ids the app accepts (security.W021), on top of the ones the component silences.", [], "deploy_check.silenced"),
    ConfigKey("backupSchedule", "string", "Cron expression of the nightly pg_dump of the in-cluster database to S3; empty means no backups.", "", "backups.schedule"),
    ConfigKey("backupRetentionDays", "integer", "Days a backup is kept.", 14, "backups.retention_days"),
    ConfigKey("backupDrillSchedule", "string", "Cron expression of the restore drill (the newest archive restored into a scratch database, read, dropped); empty means no drill.", "", "backups.restore_drill.schedule"),
    ConfigKey("backupDrillMaxArchiveAgeHours", "integer", "The drill fails when the newest archive is older than this many hours.", DEFAULT_DRILL_MAX_ARCHIVE_AGE_HOURS, "backups.restore_drill.max_archive_age_hours"),
    ConfigKey("autoscalingMax", "integer", "Most Django pods; 0 means no autoscaling.", 0, "autoscaling.max_replicas"),
    ConfigKey("autoscalingMin", "integer", "Fewest Django pods with autoscaling.", 2, "autoscaling.min_replicas"),
    ConfigKey("autoscalingCpu", "integer", "Target CPU use of django, percent of its request.", 70, "autoscaling.cpu_utilization"),
    ConfigKey("logShipperImage", "string", "Image of a fluent-bit log-shipper sidecar; empty means none.", "", "sidecars[0].image"),
    ConfigKey("databaseProvider", "string", "Where PostgreSQL runs: in-cluster (a StatefulSet) or rds (an instance this stack creates). Never change it on a live stack (README: Databases per environment).", "in-cluster", "database.provider"),
    ConfigKey("databaseSubnetIds", "array", "rds: private subnets of two or more zones (their VPC is the database's; pods reach it on their CIDRs).", [], "database.rds.subnet_ids"),
    ConfigKey("databaseClientSecurityGroupIds", "array", "rds: security groups allowed to connect (the EKS cluster security group).", [], "database.rds.client_security_group_ids"),
    ConfigKey("databaseEngineVersion", "string", "rds: PostgreSQL major or major.minor.", "17", "database.rds.engine_version"),
    ConfigKey("databaseInstanceClass", "string", "rds: instance class.", "db.t4g.medium", "database.rds.instance_class"),
    ConfigKey("databaseAllocatedStorageGb", "integer", "rds: gp3 storage at creation, GiB.", 20, "database.rds.allocated_storage_gb"),
    ConfigKey("databaseMaxAllocatedStorageGb", "integer", "rds: storage autoscaling ceiling, GiB.", 100, "database.rds.max_allocated_storage_gb"),
    ConfigKey("databaseBackupRetentionDays", "integer", "rds: days of automated backups (7-35).", 7, "database.rds.backup_retention_days"),
    ConfigKey("databaseImage", "string", "Pinned postgres image.", DEFAULT_POSTGRES_IMAGE, "database.image"),
    ConfigKey("databaseStorageSize", "string", "Size of the PostgreSQL data volume.", "10Gi", "database.storage_size"),
    ConfigKey("databaseStorageClass", "string", "StorageClass of the data volume (EKS clusters created on 1.30+ have no default class); empty means the cluster default.", "", "database.storage_class"),
    ConfigKey("storageClassCreate", "boolean", "Create databaseStorageClass: an encrypted, expandable EBS class (cluster-wide: pick a name the cluster does not have).", False, None),
    ConfigKey("storageClassProvisioner", "string", "Provisioner of a created class: ebs.csi.aws.com, or ebs.csi.eks.amazonaws.com on EKS Auto Mode.", "ebs.csi.aws.com", None),
    ConfigKey("storageClassKmsKeyArn", "string", "Customer KMS key of a created class's volumes; empty means the account's EBS default key.", "", None),
    ConfigKey("databaseCpuRequest", "string", "CPU request of PostgreSQL.", DEFAULT_POSTGRES_RESOURCES["requests"]["cpu"], "database.resources.requests.cpu"),
    ConfigKey("databaseMemoryRequest", "string", "Memory request of PostgreSQL.", DEFAULT_POSTGRES_RESOURCES["requests"]["memory"], "database.resources.requests.memory"),
    ConfigKey("databaseCpuLimit", "string", "CPU limit of PostgreSQL.", DEFAULT_POSTGRES_RESOURCES["limits"]["cpu"], "database.resources.limits.cpu"),
    ConfigKey("databaseMemoryLimit", "string", "Memory limit of PostgreSQL.", DEFAULT_POSTGRES_RESOURCES["limits"]["memory"], "database.resources.limits.memory"),
    ConfigKey("secretsBackend", "string", "aws-secrets-manager (S3 + Secrets Manager) or kubernetes (no AWS).", DEFAULTS["secrets_backend"], "secrets_backend"),
    ConfigKey("configDir", "string", "Folder (relative to the project root) whose files become the app's config; empty means none.", "", "config_dir"),
    ConfigKey("protectData", "boolean", "Protect and retain bucket, secrets and the database volume.", DEFAULTS["protect_data"], "protect_data"),
    ConfigKey("awsRegion", "string", "AWS region of the provider and the fetch steps; empty means the environment's.", "", "aws_region"),
    ConfigKey("awsCredentials", "string", "Credential path of the fetch steps: web-identity or pod-identity; empty means web-identity when the OIDC provider is set.", "", "aws_credentials"),
    ConfigKey("eksClusterName", "string", "EKS cluster of the stack: the Pod Identity association's cluster and the preview workflow's kubeconfig.", "", "eks_cluster_name"),
    ConfigKey("oidcProviderArn", "string", "IAM OIDC provider ARN of the cluster (web-identity).", "", "oidc_provider_arn"),
    ConfigKey("oidcProviderUrl", "string", "Issuer URL of the same OIDC provider.", "", "oidc_provider_url"),
    ConfigKey("kmsKeyArn", "string", "Customer KMS key for bucket and secrets; empty means AWS managed keys.", "", "kms_key_arn"),
    ConfigKey("secretRecoveryWindowDays", "integer", "Days a deleted secret can be restored (7-30, or 0).", DEFAULTS["secret_recovery_window_days"], "secret_recovery_window_days"),
    ConfigKey("configBucketForceDestroy", "boolean", "Let destroy delete a non-empty config bucket.", DEFAULTS["config_bucket_force_destroy"], "config_bucket_force_destroy"),
    ConfigKey("awsEndpointUrl", "string", "AWS_ENDPOINT_URL of the fetch steps (LocalStack in the cluster); empty means AWS.", "", "aws_endpoint_url"),
    ConfigKey("awsProviderEndpointUrl", "string", "Endpoint Pulumi's own AWS provider talks to (LocalStack); empty means AWS.", "", None),
    ConfigKey("kubeContext", "string", "kubeconfig context of the stack's cluster (never the current context).", None, None),
)  # fmt: skip

# Keys of the in-cluster server only, and of an RDS instance only.
# What databaseProvider takes in stack config (an existing server is the Python API's).
STACK_DATABASE_PROVIDERS = ("in-cluster", "rds")

IN_CLUSTER_KEYS = (
    "databaseStorageSize", "databaseCpuRequest", "databaseMemoryRequest", "databaseCpuLimit", "databaseMemoryLimit",
)  # fmt: skip

RDS_KEYS = (
    "databaseSubnetIds", "databaseClientSecurityGroupIds", "databaseEngineVersion", "databaseInstanceClass",
    "databaseAllocatedStorageGb", "databaseMaxAllocatedStorageGb", "databaseBackupRetentionDays",
)  # fmt: skip

# Keys that configure the AWS backend only (awsRegion and eksClusterName also serve the
# program's provider and the preview workflow).
AWS_ONLY_KEYS = (
    "oidcProviderArn", "oidcProviderUrl", "kmsKeyArn", "awsEndpointUrl", "awsCredentials",
    "secretRecoveryWindowDays", "configBucketForceDestroy",
)  # fmt: skip


def _typed(key: ConfigKey, raw: Optional[str], problems: list[Problem], project: str) -> Any:
    where = f"{project}:{key.key}"
    if raw is None:
        if key.required:
            problems.append(
                Problem(
                    where, None, f"is required: {key.description}{UPGRADE_NOTES.get(key.key, '')}"
                )
            )
        return key.default
    if key.type == "integer":
        if not re.fullmatch(r"-?[0-9]+", raw.strip()):
            problems.append(Problem(where, raw, "must be an integer"))
            return key.default
        return int(raw)
    if key.type == "array":
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            problems.append(Problem(where, raw, "must be a list of strings"))
            return key.default
        return value
    if key.type == "boolean":
        if raw.strip().lower() not in ("true", "false"):
            problems.append(Problem(where, raw, "must be true or false"))
            return key.default
        return raw.strip().lower() == "true"
    return raw


def _log_shipper(image: str, ip_family: str) -> dict:
    """fluent-bit tailing the app's log directory to stdout; its HTTP server is the startup probe
    and listens on the cluster's address family (``-L``, fluent-bit's ``--http_listen``:
    src/fluent-bit.c; the default 0.0.0.0 refuses probes on an IPv6 cluster)."""
    return {
        "name": "log-shipper",
        "image": image,
        "args": [
            "-i", "tail", "-p", "path=/var/log/app/*.log", "-p", "read_from_head=true",
            "-o", "stdout", "-H", "-L", LISTEN_ADDRESSES.get(ip_family, "0.0.0.0"), "-P", str(LOG_SHIPPER_PORT),
        ],
        # No declared port: the web policy opens declared sidecar ports to every peer, and only
        # the kubelet needs this one (its probes are always allowed to the node's own pods).
        "startup_probe": {"tcpSocket": {"port": LOG_SHIPPER_PORT}, "periodSeconds": 1, "failureThreshold": 30},
        "volume_mounts": {"logs": "/var/log/app"},
    }  # fmt: skip


# Keys whose component arguments accept Outputs: a `secure:` value may travel as a secret
# Output, checked once decrypted. Any other key would land in plain manifests or IAM documents.
SECRET_CAPABLE = (
    "awsRegion", "oidcProviderArn", "oidcProviderUrl", "kmsKeyArn", "eksClusterName", "mailPassword",
)  # fmt: skip

# Keys whose value is a secret: a plain value would sit in the stack file for anyone to read.
MUST_BE_SECRET = ("mailPassword",)


def args_from_config(
    get: Callable[[str], Optional[str]],
    project: str,
    root: Union[str, os.PathLike, None] = None,
    get_secret: Optional[Callable[[str], Any]] = None,
    is_secret: Callable[[str], bool] = lambda full_key: False,
) -> tuple[str, DjangoAppArgs]:
    """Read every declared key with ``get`` (raw strings, as ``pulumi.Config().get`` returns
    them) and build the component's name and args; raise ``ValidationError`` naming keys.

    Paths in stack config (``configDir``) are relative to ``root``, the project root
    (``pulumi.get_root_directory()``), never to the working directory: the engine runs a
    ``main: stacks/`` program inside ``stacks/``."""
    problems: list[Problem] = []
    v = {}
    for k in CONFIG_KEYS:
        if is_secret(f"{project}:{k.key}"):
            if k.key in SECRET_CAPABLE and get_secret is not None:
                # Never typed here (it may not be decrypted yet): the component checks it once known.
                v[k.key] = get_secret(k.key)
                continue
            problems.append(
                Problem(
                    f"{project}:{k.key}",
                    "[secret]",
                    "is stored as a secret (secure:) but would appear in plain text in manifests; store it as a plain value",
                )
            )
        v[k.key] = _typed(k, get(k.key), problems, project)
        if k.key in MUST_BE_SECRET and v[k.key]:
            problems.append(
                Problem(
                    f"{project}:{k.key}",
                    "[hidden]",
                    f"is a password stored in plain text in the stack file; remove it and set it "
                    f"with `pulumi config set --secret {project}:{k.key}`",
                )
            )

    env: dict[str, str] = {}
    for item in v["env"]:
        name, sep, value = item.partition("=")
        if not sep:
            problems.append(Problem(f"{project}:env", item, "each entry must be 'NAME=value'"))
        elif name in env:
            # A list keeps both; a mapping would keep the last one silently.
            problems.append(
                Problem(f"{project}:env", item, f"sets {name} a second time; each name once")
            )
        env[name] = value
    # A selector's own value first: keys are judged against it only when it is one it can take
    # (a typo such as "kubernets" must be named, not reported as other keys that "only apply").
    backend_known = v["secretsBackend"] in BACKENDS
    if not backend_known:
        problems.append(
            Problem(
                f"{project}:secretsBackend",
                get("secretsBackend"),
                f"must be one of: {', '.join(BACKENDS)}",
            )
        )
    if backend_known and v["secretsBackend"] != AWS_SECRETS_MANAGER:
        # The component refuses these with the kubernetes backend; a stack must not lose them quietly.
        for key in AWS_ONLY_KEYS:
            spec = next(k for k in CONFIG_KEYS if k.key == key)
            if v[key] != spec.default:
                shown = "[secret]" if is_secret(f"{project}:{key}") else get(key)
                problems.append(
                    Problem(
                        f"{project}:{key}",
                        shown,
                        f"only applies with secretsBackend {AWS_SECRETS_MANAGER}",
                    )
                )
    provider = v["databaseProvider"]
    if provider not in STACK_DATABASE_PROVIDERS:
        problems.append(
            Problem(
                f"{project}:databaseProvider",
                get("databaseProvider"),
                f"must be one of: {', '.join(STACK_DATABASE_PROVIDERS)}",
            )
        )
    judged = (
        ()
        if provider not in STACK_DATABASE_PROVIDERS
        else IN_CLUSTER_KEYS
        if provider != "in-cluster"
        else RDS_KEYS
    )
    for key in judged:
        spec = next(k for k in CONFIG_KEYS if k.key == key)
        if v[key] != spec.default:
            needed = "in-cluster" if key in IN_CLUSTER_KEYS else "rds"
            problems.append(
                Problem(
                    f"{project}:{key}",
                    get(key),
                    f"only applies with databaseProvider {needed} (it is {provider})",
                )
            )
    args: dict[str, Any] = {
        "image": v["image"],
        "replicas": v["replicas"],
        "port": v["port"],
        "workers": v["workers"],
        "ip_family": v["ipFamily"],
        "kubernetes_version": v["kubernetesVersion"],
        "env": env,
        "resources": {
            "requests": {"cpu": v["cpuRequest"], "memory": v["memoryRequest"]},
            "limits": {"cpu": v["cpuLimit"], "memory": v["memoryLimit"]},
        },
        "database": {
            "image": v["databaseImage"],
            "storage_size": v["databaseStorageSize"],
            "resources": {
                "requests": {"cpu": v["databaseCpuRequest"], "memory": v["databaseMemoryRequest"]},
                "limits": {"cpu": v["databaseCpuLimit"], "memory": v["databaseMemoryLimit"]},
            },
        },
    }
    if provider != "in-cluster":
        args["database"] = {"image": v["databaseImage"], "provider": provider}
    if provider == "rds":
        args["database"]["rds"] = {
            "subnet_ids": v["databaseSubnetIds"],
            "client_security_group_ids": v["databaseClientSecurityGroupIds"],
            "engine_version": v["databaseEngineVersion"],
            "instance_class": v["databaseInstanceClass"],
            "allocated_storage_gb": v["databaseAllocatedStorageGb"],
            "max_allocated_storage_gb": v["databaseMaxAllocatedStorageGb"],
            "backup_retention_days": v["databaseBackupRetentionDays"],
        }
    if v["namespace"]:
        args["namespace"] = v["namespace"]
    _way_in(args, v, problems, project)
    if v["schedules"]:
        args["schedules"] = _schedules(v["schedules"], problems, project)
    if v["processes"]:
        args["processes"] = _processes(v["processes"], problems, project)
    if v["monitoringScraperNamespace"]:
        args["monitoring"] = {
            "scraper": {
                "namespace": v["monitoringScraperNamespace"],
                "pod_labels": _pairs(
                    v["monitoringScraperPodLabels"], "monitoringScraperPodLabels", problems, project
                ),
            },
            "labels": _pairs(v["monitoringLabels"], "monitoringLabels", problems, project),
            "app_metrics_path": ""
            if v["monitoringAppMetricsPath"] == "none"
            else v["monitoringAppMetricsPath"],
        }
    if v["kedaNamespace"]:
        args["keda"] = {"namespace": v["kedaNamespace"]}
    if v["broker"] != "none":
        args["broker"] = {} if v["broker"] == "in-cluster" else {"url": v["broker"]}
        if v["brokerImage"]:
            args["broker"]["image"] = v["brokerImage"]
    if v["cache"] != "none":
        args["cache"] = {} if v["cache"] == "in-cluster" else {"url": v["cache"]}
        if v["cacheImage"]:
            args["cache"]["image"] = v["cacheImage"]
    elif v["cacheImage"]:
        problems.append(
            Problem(f"{project}:cacheImage", v["cacheImage"], "only applies with cache in-cluster")
        )
    _mail(args, v, problems, project)
    if v["firstAdmin"]:
        args["first_admin"] = {
            key: v[config_key]
            for key, config_key in (
                ("username", "firstAdminUsername"),
                ("email", "firstAdminEmail"),
            )
            if v[config_key]
        }
    else:
        for key in ("firstAdminUsername", "firstAdminEmail"):
            if v[key]:
                problems.append(
                    Problem(f"{project}:{key}", v[key], "only applies with firstAdmin: true")
                )
    media_keys = ("mediaCorsOrigins", "mediaNoncurrentVersionDays", "mediaTokenAudience")
    if v["media"]:
        args["media"] = {
            "cors_origins": v["mediaCorsOrigins"],
            "noncurrent_version_days": v["mediaNoncurrentVersionDays"],
            **({"token_audience": v["mediaTokenAudience"]} if v["mediaTokenAudience"] else {}),
        }
    else:
        for key in media_keys:
            if v[key] != _default(key):
                problems.append(
                    Problem(f"{project}:{key}", v[key], "only applies with media: true")
                )
    https = {
        "seconds": v["hstsSeconds"],
        "include_subdomains": v["hstsIncludeSubdomains"],
        "preload": v["hstsPreload"],
    }
    if v["wayIn"] != "none" or any(
        v[key] != _default(key) for key in ("hstsSeconds", "hstsIncludeSubdomains", "hstsPreload")
    ):
        args["hsts"] = https
    args["rollback_gate"] = v["rollbackGate"]
    args["deploy_check"] = {
        "enabled": v["deployCheck"],
        "fail_level": v["deployCheckFailLevel"],
        "silenced": v["deployCheckSilenced"],
    }
    if v["backupSchedule"]:
        args["backups"] = {
            "schedule": v["backupSchedule"],
            "retention_days": v["backupRetentionDays"],
        }
        if v["backupDrillSchedule"]:
            args["backups"]["restore_drill"] = {
                "schedule": v["backupDrillSchedule"],
                "max_archive_age_hours": v["backupDrillMaxArchiveAgeHours"],
            }
    elif v["backupDrillSchedule"]:
        problems.append(
            Problem(
                f"{project}:backupDrillSchedule",
                v["backupDrillSchedule"],
                "drills restore the backups: set backupSchedule too",
            )
        )
    if v["autoscalingMax"]:
        args["autoscaling"] = {
            "min_replicas": v["autoscalingMin"],
            "max_replicas": v["autoscalingMax"],
            "cpu_utilization": v["autoscalingCpu"],
        }
    if v["databaseStorageClass"]:
        if provider == "in-cluster":
            args["database"]["storage_class"] = v["databaseStorageClass"]
        if v["broker"] == "in-cluster":
            args["broker"]["storage_class"] = v["databaseStorageClass"]
    if v["logShipperImage"]:
        args["sidecars"] = [_log_shipper(v["logShipperImage"], v["ipFamily"])]
    args["secrets_backend"] = v["secretsBackend"]
    args["protect_data"] = v["protectData"]
    if v["configDir"]:
        config_dir = Path(root or ".") / v["configDir"]
        if not config_dir.is_dir():
            # Named as the user wrote it; the Python API would only see the resolved path.
            problems.append(
                Problem(
                    f"{project}:configDir",
                    v["configDir"],
                    f"must be an existing directory relative to the project root {Path(root or '.').resolve()}",
                )
            )
        else:
            args["config_dir"] = str(config_dir)
    if v["secretsBackend"] == AWS_SECRETS_MANAGER:
        # Empty strings mean "not set": only what a stack sets reaches the component.
        optional = {
            "aws_region": v["awsRegion"],
            "oidc_provider_arn": v["oidcProviderArn"],
            "oidc_provider_url": v["oidcProviderUrl"],
            "kms_key_arn": v["kmsKeyArn"],
            "aws_endpoint_url": v["awsEndpointUrl"],
            "aws_credentials": v["awsCredentials"],
        }
        if v["awsCredentials"] == "pod-identity":
            optional["eks_cluster_name"] = v["eksClusterName"]
        args.update({k: value for k, value in optional.items() if value})
        args["secret_recovery_window_days"] = v["secretRecoveryWindowDays"]
        args["config_bucket_force_destroy"] = v["configBucketForceDestroy"]
    if problems:
        # Every problem in one run (a stack file of an earlier release must not be fixed round by
        # round): the component's own checks of what could be built, under their config keys, with
        # those already reported left out.
        raise ValidationError(
            f"stack config of project {project!r}",
            [*problems, *_component_problems(v["appName"], args, problems, project, get)],
        )
    return v["appName"], args  # type: ignore[return-value]


def _default(key: str) -> Any:
    return next(k.default for k in CONFIG_KEYS if k.key == key)


MAIL_KEYS = ("mailPassword", "mailFrom", "mailServerEmail")


def _mail(args: dict, v: dict, problems: list[Problem], project: str) -> None:
    """``mail`` from mailUrl and its companions; they only mean something with mailUrl."""
    if not v["mailUrl"]:
        for key in MAIL_KEYS:
            if v[key]:
                shown = "[secret]" if key == "mailPassword" else v[key]
                problems.append(Problem(f"{project}:{key}", shown, "only applies with mailUrl"))
        return
    mail: dict[str, Any] = {"url": v["mailUrl"], "default_from_email": v["mailFrom"]}
    if v["mailPassword"]:
        mail["password"] = v["mailPassword"]
    if v["mailServerEmail"]:
        mail["server_email"] = v["mailServerEmail"]
    args["mail"] = mail


# Keys that choose what the other keys mean: with one of them misspelt, the component's checks
# would judge the rest against a guess, and send the user after keys that are right.
SELECTORS = ("secretsBackend", "databaseProvider")


def _component_problems(
    name: Any, args: dict, reported: list[Problem], project: str, get: Callable[[str], Any]
) -> list[Problem]:
    if any(p.field in {f"{project}:{key}" for key in SELECTORS} for p in reported):
        return []
    try:
        normalise(name if isinstance(name, str) and name else "django", args)
    except ValidationError as error:
        seen = {p.field for p in reported}
        return [
            p
            for p in with_config_keys(error, project, get).problems
            if p.field.split(" (")[0] not in seen
        ]
    return []


def _schedules(entries: list, problems: list, project: str) -> list[dict]:
    """``name|cron|command words[|time zone]`` (Pulumi's project config holds lists of strings
    only): ``clearsessions|0 3 * * *|python manage.py clearsessions|Europe/Paris``."""
    result = []
    for entry in entries:
        parts = [p.strip() for p in entry.split("|")]
        if len(parts) not in (3, 4) or not all(parts):
            problems.append(
                Problem(
                    f"{project}:schedules",
                    entry,
                    "each entry must be 'name|cron|command words' or 'name|cron|command words|time zone'",
                )
            )
            continue
        schedule = {"name": parts[0], "schedule": parts[1], "command": shlex.split(parts[2])}
        if len(parts) == 4:
            schedule["time_zone"] = parts[3]
        result.append(schedule)
    return result


def _pairs(entries: list, key: str, problems: list, project: str) -> dict:
    """``name=value`` entries as a mapping of labels."""
    result = {}
    for entry in entries:
        name, sep, value = entry.partition("=")
        if not sep or not name:
            problems.append(Problem(f"{project}:{key}", entry, "each entry must be 'name=value'"))
            continue
        result[name] = value
    return result


_QUEUE_RANGE = re.compile(r"queue:(\d+)-(\d+)")


def _processes(entries: list, problems: list, project: str) -> list[dict]:
    """``name|command words[|replicas|singleton]``: ``worker|celery -A project worker|2``,
    ``beat|celery -A project beat|singleton``."""
    result = []
    for entry in entries:
        parts = [p.strip() for p in entry.split("|")]
        count = parts[2] if len(parts) == 3 else "1"
        queue = _QUEUE_RANGE.fullmatch(count)
        if (
            len(parts) not in (2, 3)
            or not all(parts)
            or not (count == "singleton" or count.isdigit() or queue)
        ):
            problems.append(
                Problem(
                    f"{project}:processes",
                    entry,
                    "each entry must be 'name|command words', 'name|command words|replicas', 'name|command words|singleton' or 'name|command words|queue:MIN-MAX'",
                )
            )
            continue
        process: dict = {"name": parts[0], "command": shlex.split(parts[1])}
        if count == "singleton":
            process["singleton"] = True
        elif queue:
            process["queue_autoscaling"] = {
                "min_replicas": int(queue.group(1)),
                "max_replicas": int(queue.group(2)),
            }
        else:
            process["replicas"] = int(count)
        result.append(process)
    return result


WAYS_IN = ("none", "ingress", "http-route")

_INGRESS_KEYS = ("ingressCidrs", "ingressScheme", "certificateArns", "ingressGroup", "externalDns")

_ROUTE_KEYS = ("gatewayName", "gatewayNamespace", "gatewaySourceCidrs")


def _way_in(args: dict, v: dict, problems: list, project: str) -> None:
    """``wayIn`` and its keys to ``ingress`` or ``http_route``; keys of the other way are errors."""
    way = v["wayIn"]
    if way not in WAYS_IN:
        problems.append(Problem(f"{project}:wayIn", way, f"must be one of {', '.join(WAYS_IN)}"))
        return
    defaults = {k.key: k.default for k in CONFIG_KEYS}
    unused = {
        "none": ("hosts", *_INGRESS_KEYS, *_ROUTE_KEYS),
        "ingress": _ROUTE_KEYS,
        "http-route": _INGRESS_KEYS,
    }[way]
    for key in unused:
        if v[key] != defaults[key]:
            problems.append(Problem(f"{project}:{key}", v[key], f"does not apply with wayIn {way}"))
    if way == "ingress":
        ingress: dict = {
            "hosts": v["hosts"],
            "ingress_cidrs": v["ingressCidrs"],
            "scheme": v["ingressScheme"],
            "external_dns": v["externalDns"],
        }
        if v["certificateArns"]:
            ingress["certificate_arns"] = v["certificateArns"]
        if v["ingressGroup"]:
            ingress["group_name"] = v["ingressGroup"]
        args["ingress"] = ingress
    elif way == "http-route":
        ref = {"name": v["gatewayName"]} if v["gatewayName"] else {}
        if v["gatewayNamespace"]:
            ref["namespace"] = v["gatewayNamespace"]
        args["http_route"] = {"hosts": v["hosts"], "parent_refs": [ref] if ref else []}
        if v["gatewaySourceCidrs"]:
            args["http_route"]["source_cidrs"] = v["gatewaySourceCidrs"]


def storage_class_args(get: Callable[[str], Optional[str]], project: str) -> Optional[dict]:
    """The StorageClass the stack creates (``storageClassCreate``), or None."""
    problems: list[Problem] = []
    v = {
        k.key: _typed(k, get(k.key), problems, project)
        for k in CONFIG_KEYS
        if k.key.startswith("storageClass") or k.key == "databaseStorageClass"
    }
    if problems or not v["storageClassCreate"]:
        return None
    if not v["databaseStorageClass"]:
        raise ValidationError(
            f"stack config of project {project!r}",
            [
                Problem(
                    f"{project}:databaseStorageClass",
                    "",
                    "must name the class that storageClassCreate creates",
                )
            ],
        )
    args = {"name": v["databaseStorageClass"], "provisioner": v["storageClassProvisioner"]}
    if v["storageClassKmsKeyArn"]:
        args["kms_key_arn"] = v["storageClassKmsKeyArn"]
    keys = {
        "name": "databaseStorageClass",
        "provisioner": "storageClassProvisioner",
        "kms_key_arn": "storageClassKmsKeyArn",
    }
    try:
        storage_class.normalise(args)
    except ValidationError as error:
        raise ValidationError(
            f"stack config of project {project!r}",
            [
                Problem(
                    f"{project}:{keys.get(p.field.split('.')[-1], p.field)}", p.value, p.allowed
                )
                for p in error.problems
            ],
        ) from None
    return args


def aws_provider_args(get: Callable[[str], Optional[str]]) -> dict[str, Any]:
    """Arguments of the explicit AWS provider the program uses.

    Every stack gets an explicit provider, so its region is in the stack file. With
    ``awsProviderEndpointUrl`` (the ``local`` stack) it talks to LocalStack with LocalStack's
    fixed dummy credentials and skips the checks that need real AWS.
    """
    provider: dict[str, Any] = {}
    if get("awsRegion"):
        provider["region"] = get("awsRegion")
    endpoint = get("awsProviderEndpointUrl")
    if endpoint:
        provider |= {
            "access_key": "test",  # LocalStack's documented dummy credentials, not a secret
            "secret_key": "test",
            "skip_credentials_validation": True,
            "skip_metadata_api_check": True,
            "skip_requesting_account_id": True,
            "s3_use_path_style": True,
            "endpoints": [
                {name: endpoint for name in ("s3", "secretsmanager", "iam", "sts", "kms")}
            ],
        }
    return provider


def with_config_keys(
    error: ValidationError, project: str, get: Optional[Callable[[str], Optional[str]]] = None
) -> ValidationError:
    """The same problems, each field replaced by the config key that set it, and (with ``get``)
    each value of a whole key shown as the stack file spells it (``true``, ``'3'``)."""
    by_arg = {k.arg: f"{project}:{k.key}" for k in CONFIG_KEYS if k.arg}
    raw_of = {f"{project}:{k.key}": k.key for k in CONFIG_KEYS}

    def key_for(field: str) -> str:
        if field.startswith("http_route.hosts"):
            field = "ingress" + field[len("http_route") :]  # one hosts key serves both ways in
        if field in by_arg:
            return by_arg[field]
        # env.NAME -> the env key; sidecars[0].x -> logShipperImage; database.x.y -> nearest key.
        prefix = field
        while prefix:
            for arg, key in by_arg.items():
                if arg == prefix or arg.startswith(prefix + "."):
                    return f"{key} ({field})"
            prefix = prefix.rpartition(".")[0]
        head = field.split(".")[0].split("[")[0]
        return by_arg.get(head, field)

    def value_for(key: str, value: object) -> object:
        if value in ("[secret]", "[hidden]"):
            return value  # masked on purpose: never replaced by what the stack file holds
        if get is not None and key in raw_of and get(raw_of[key]) is not None:
            return get(raw_of[key])
        return value

    mapped = []
    for p in error.problems:
        key = key_for(p.field)
        mapped.append(Problem(key, value_for(key, p.value), p.allowed))
    return ValidationError(f"stack config of project {project!r}", mapped)


def pulumi_yaml_declarations() -> dict[str, dict]:
    """The ``config:`` block Pulumi.yaml must contain (used by a test, and to write it)."""
    block: dict[str, dict] = {}
    for k in CONFIG_KEYS:
        entry: dict[str, Any] = {"type": k.type, "description": k.description}
        if k.type == "array":
            entry["items"] = {"type": "string"}
        if not k.required:
            entry["default"] = k.default
        block[k.key] = entry
    return block

"""``DjangoApp``: registers the Kubernetes objects that the pure builders describe."""

import dataclasses
import functools
import importlib
import json
import re
import typing
import urllib.parse
from typing import Any, Callable, Dict, List, Mapping, Optional

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from ..builders import (
    backups,
    broker,
    cache,
    database,
    deploy_check,
    effective_resources,
    manifests,
    media,
    rds,
    way_in,
    workload_identity,
)
from ..builders.effective_resources import effective_pod_resources, format_resources
from ..builders.fetch import AwsRefs
from ..builders.secret_files import credentials_secret_name
from ..settings import media as media_settings
from ..settings.app import Settings, normalise
from ..settings.args import DjangoAppArgs
from ..settings.aws import TOKEN_AUDIENCE, checked_issuer, unknown_region_warning
from ..settings.secret_files import ADMIN_PASSWORD, DATABASE_JSON
from .app_secrets import AppSecrets
from .config_bucket import ConfigBucket
from .rds import RdsDatabase

TYPE_TOKEN = "djangoapp:index:DjangoApp"


def await_timeouts(seconds: Optional[int]) -> Optional[pulumi.CustomTimeouts]:
    """How long `pulumi up` waits for a Job or Deployment: longer than it can legitimately take,
    so Pulumi never gives up on a rollout the cluster would still complete."""
    if seconds is None:
        return None
    minutes = manifests.await_minutes(seconds)
    return pulumi.CustomTimeouts(create=f"{minutes}m", update=f"{minutes}m")


# Resource classes by (apiVersion, kind), imported on first use: a program without a Job never
# pays for importing pulumi_kubernetes.batch (SDK modules are large; imports dominate a preview).
KINDS = {
    ("v1", "Namespace"): ("core.v1", "Namespace"),
    ("v1", "Secret"): ("core.v1", "Secret"),
    ("v1", "ConfigMap"): ("core.v1", "ConfigMap"),
    ("v1", "ServiceAccount"): ("core.v1", "ServiceAccount"),
    ("v1", "Service"): ("core.v1", "Service"),
    ("v1", "PersistentVolumeClaimPatch"): ("core.v1", "PersistentVolumeClaimPatch"),
    ("apps/v1", "Deployment"): ("apps.v1", "Deployment"),
    ("apps/v1", "StatefulSet"): ("apps.v1", "StatefulSet"),
    ("batch/v1", "Job"): ("batch.v1", "Job"),
    ("batch/v1", "CronJob"): ("batch.v1", "CronJob"),
    ("policy/v1", "PodDisruptionBudget"): ("policy.v1", "PodDisruptionBudget"),
    ("networking.k8s.io/v1", "NetworkPolicy"): ("networking.v1", "NetworkPolicy"),
    ("networking.k8s.io/v1", "Ingress"): ("networking.v1", "Ingress"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"): ("autoscaling.v2", "HorizontalPodAutoscaler"),
    # Gateway API objects are custom resources: the SDK has no class of their own.
    ("gateway.networking.k8s.io/v1", "HTTPRoute"): ("apiextensions", "CustomResource"),
    ("keda.sh/v1alpha1", "ScaledObject"): ("apiextensions", "CustomResource"),
    ("keda.sh/v1alpha1", "TriggerAuthentication"): ("apiextensions", "CustomResource"),
    ("monitoring.coreos.com/v1", "PodMonitor"): ("apiextensions", "CustomResource"),
    ("monitoring.coreos.com/v1", "PrometheusRule"): ("apiextensions", "CustomResource"),
}


@functools.cache
def resource_class(api_version: str, kind: str) -> type:
    module, name = KINDS[(api_version, kind)]
    return getattr(importlib.import_module(f"pulumi_kubernetes.{module}"), name)


def _snake(field: str) -> str:
    return re.sub(r"([A-Z])", r"_\1", field).lower()


def _plain(value: Any) -> pulumi.Output:
    """An Output of a value that holds no Outputs. ``Output.from_input`` would unwrap a dict or
    list level by level, one Output per key and item (about 500 objects per app for the
    effective resources): here the value is carried whole."""
    return pulumi.Output.from_input(None).apply(lambda _: value)


def _cache_host(s: Settings) -> Optional[str]:
    if s.cache is None:
        return None
    if s.cache.in_cluster:
        return cache.host(s.name, s.namespace)
    return urllib.parse.urlsplit(s.cache.url).hostname


def _broker_host(s: Settings) -> Optional[str]:
    if s.broker is None:
        return None
    return (
        broker.host(s.name, s.namespace)
        if s.broker.in_cluster
        else urllib.parse.urlsplit(s.broker.url).hostname
    )


def _load_balancer_hostname(status: Any) -> Optional[str]:
    """``status.loadBalancer.ingress[].hostname`` of an Ingress (the SDK's typed output)."""
    entries = getattr(getattr(status, "load_balancer", None), "ingress", None) or []
    return next((e.hostname for e in entries if getattr(e, "hostname", None)), None)


class DjangoApp(pulumi.ComponentResource):
    """A Django Deployment (gunicorn) with native sidecars, ordered init steps, an in-cluster
    PostgreSQL and generated credentials delivered as in-memory files."""

    namespace: pulumi.Output[str]
    """Always: the namespace of every object."""
    deployment_name: pulumi.Output[str]
    """Always: the web Deployment's name."""
    service_name: pulumi.Output[str]
    """Always: the web Service's name (ClusterIP, port ``port``)."""
    database_service_name: pulumi.Output[str]
    """Always: the in-cluster database's Service; with ``external`` its host, with ``rds`` its address."""
    database_endpoint: pulumi.Output[Optional[str]]
    """With ``rds``: the instance's address; None otherwise."""
    database_port: pulumi.Output[Optional[int]]
    """With ``rds``: the instance's port; None otherwise."""
    database_master_secret_arn: pulumi.Output[Optional[str]]
    """With ``rds``: the ARN of the master secret RDS manages (an ARN, never the password); None otherwise."""
    effective_pod_requests: pulumi.Output[Dict[str, str]]
    """Always: what the scheduler reserves for one web pod (KEP-753), per resource."""
    effective_pod_limits: pulumi.Output[Dict[str, str]]
    """Always: the web pod's effective limits; a resource unbounded somewhere is left out."""
    effective_resources: pulumi.Output[Dict[str, Dict[str, Dict[str, str]]]]
    """Always: requests and limits of every pod kind (web, migrate, each schedule and process,
    postgres, broker, cache, backup), by pod kind."""
    broker_host: pulumi.Output[Optional[str]]
    """With a broker: its host (never the URL, which holds the password); None otherwise."""
    media_bucket_name: pulumi.Output[Optional[str]]
    """With media: the uploads bucket; None otherwise."""
    media_prefix: pulumi.Output[Optional[str]]
    """With media: the key prefix the app's containers may use; None otherwise."""
    media_role_arn: pulumi.Output[Optional[str]]
    """With media: the role of the app's containers (with pod-identity, the fetch role, which
    EKS maps to the ServiceAccount); None otherwise."""
    secret_arns: pulumi.Output[Dict[str, str]]
    """With the AWS backend: each secret file's Secrets Manager secret by file name (ARNs, never
    values; ``python -m pulumi_djangoapp.run`` reads them); empty otherwise."""
    first_admin_username: pulumi.Output[Optional[str]]
    """With a first admin: its username; None otherwise."""
    first_admin_password_secret: pulumi.Output[Optional[str]]
    """With a first admin: where its generated password is (the Secrets Manager secret's ARN, or
    ``<namespace>/<Secret>#admin-password`` with the kubernetes backend), never the value; None
    otherwise."""
    cache_host: pulumi.Output[Optional[str]]
    """With a cache: its host (never the URL, which holds the password); None otherwise."""
    deploy_checks_silenced: pulumi.Output[List[str]]
    """Always: the ``check --deploy`` ids the release gate silences (the component's and
    ``deploy_check.silenced``); empty when the gate is off."""
    backup_bucket_name: pulumi.Output[Optional[str]]
    """With backups: the bucket the archives go to; None otherwise."""
    backup_prefix: pulumi.Output[Optional[str]]
    """With backups: the key prefix of this app's archives; None otherwise."""
    backup_role_arn: pulumi.Output[Optional[str]]
    """With backups: the write-only role of the backup pod; None otherwise."""
    restore_role_arn: pulumi.Output[Optional[str]]
    """With backups: the read-only role ``python -m pulumi_djangoapp.restore`` uses; None otherwise."""
    bucket_name: pulumi.Output[Optional[str]]
    """With the AWS backend: the config bucket; None otherwise."""
    config_prefix: pulumi.Output[Optional[str]]
    """With the AWS backend: the key prefix of this app's config files; None otherwise."""
    secret_arn: pulumi.Output[Optional[str]]
    """With the AWS backend: the ARN of the database secret (never its value); None otherwise."""
    role_arn: pulumi.Output[Optional[str]]
    """With the AWS backend: the role of the fetch steps; None otherwise."""
    urls: pulumi.Output[List[str]]
    """Always: ``https://<host>`` for every host of the way in; empty without one."""
    ingress_hostname: pulumi.Output[Optional[str]]
    """With an Ingress: the load balancer's DNS name once the controller made it; None otherwise."""

    def __init__(
        self,
        name: str,
        args: DjangoAppArgs,
        opts: Optional[pulumi.ResourceOptions] = None,
    ) -> None:
        # Validate before registering anything: bad input must not leave half a component.
        settings = normalise(name, args)
        super().__init__(TYPE_TOKEN, name, {}, opts)
        self._settings = settings
        s = settings

        if s.aws and s.aws.region_check:
            warning = unknown_region_warning(s.aws.region)
            if warning:
                pulumi.log.warn(f"DjangoApp {s.name!r}: {warning}", resource=self)
        warning = way_in.broad_cidr_warning(s.way_in)
        if warning and s.network_policies:
            pulumi.log.warn(f"DjangoApp {s.name!r}: {warning}", resource=self)

        # Holds which kind of server keeps the data. Changing the provider on a live stack would
        # delete one server's data and start empty on another: with protect_data this marker is
        # protected, so `pulumi preview` refuses the replacement its changed keeper needs
        # (docs/runbooks/provider-change.md).
        marker = random.RandomId(
            f"{s.name}-database-provider",
            byte_length=4,
            keepers={"provider": s.database.provider},
            opts=pulumi.ResourceOptions(parent=self, protect=s.protect_data),
        )
        rds_db = (
            RdsDatabase(f"{s.name}-database", s, marker.hex, pulumi.ResourceOptions(parent=self))
            if s.database.provider == "rds"
            else None
        )
        secrets = AppSecrets(
            f"{s.name}-secrets",
            s,
            pulumi.ResourceOptions(parent=self),
            database_host=rds_db.address if rds_db else None,
        )
        # Set by _media_side when the app has media.
        self._media_bucket: Optional[ConfigBucket] = None
        self._media_role: Optional[aws.iam.Role] = None
        refs, bucket, role, access = (
            self._aws_side(s, secrets, rds_db) if s.uses_aws else (None, None, None, [])
        )
        db_admin_access: list = []
        if rds_db is not None and refs is not None:
            admin_role, db_admin_access = self._db_admin_side(s, secrets, rds_db)
            refs = dataclasses.replace(refs, db_admin_role_arn=admin_role.arn)
        secret_values = {
            "password": secrets.password,
            "database_url": secrets.database_url,
            "database_json": secrets.database_json,
            "secret_key": secrets.secret_key,
        }
        backup_refs, backup_bucket, backup_access, restore_role = (
            self._backup_side(s, refs) if s.backups and refs is not None else (None, None, [], None)
        )
        if s.broker:
            secret_values["broker_url"] = secrets.broker_url
            secret_values["broker_acl"] = secrets.broker_acl
        if s.cache:
            secret_values["cache_url"] = secrets.cache_url
            secret_values["cache_acl"] = secrets.cache_acl
        if s.mail:
            secret_values["email_url"] = secrets.email_url
        if s.first_admin:
            secret_values["admin_password"] = secrets.admin_password
        if secrets.broker_scaler_password is not None:
            secret_values["broker_scaler_password"] = secrets.broker_scaler_password
        if secrets.broker_exporter_passwords is not None:
            secret_values["broker_exporter_passwords"] = secrets.broker_exporter_passwords
        if secrets.monitor_password is not None:
            secret_values["monitor_password"] = secrets.monitor_password
            secret_values["monitor_password_verifier"] = secrets.monitor_password_verifier
        if secrets.drill_password is not None:
            secret_values["drill_password"] = secrets.drill_password
            secret_values["drill_password_verifier"] = secrets.drill_password_verifier
        registered: dict[str, Any] = {}
        pod_resources: dict[str, dict[str, dict[str, str]]] = {}
        for built in manifests.built_objects(s, secret_values, refs, backup_refs):
            role_name, manifest, facts = built.role, built.object, built.facts
            depends_on = [registered[role] for role in manifests.waits_for(built, registered)]
            if facts.runs_app and bucket is not None:
                # The first pod's fetch steps need the files, the role, its policy and (pod
                # identity) the association in place: without them the first start is denied.
                depends_on += [*bucket.readable, *access]
            if facts.reads_backups and backup_bucket is not None:
                depends_on += [*backup_bucket.readable, *backup_access]
            if facts.creates_db_role:
                # The instance, the master secret, the app's secret and the admin role first.
                depends_on += [rds_db, secrets, *db_admin_access]
            registered[role_name] = self._apply(
                role_name, manifest, depends_on, facts.holds_data and s.protect_data, facts.replace_on_change,
                timeouts=await_timeouts(facts.await_seconds),
                patch=facts.patches is not None,
                ignore=list(facts.ignore_changes) or None,
            )  # fmt: skip
            if facts.storage_class:
                claim = manifest["metadata"]["name"]
                registered[role_name].spec.apply(
                    lambda spec, wanted=facts.storage_class, claim=claim: self._warn_class_drift(
                        wanted, spec, claim
                    )
                )
            if facts.pod_kind:
                containers = effective_resources.container_resources(
                    manifests.pod_template(manifest)
                )
                requests, limits = effective_pod_resources(containers)
                pod_resources[facts.pod_kind] = {
                    "requests": format_resources(requests),
                    "limits": format_resources(limits),
                }
        deployment, service = registered["deployment"], registered["service"]
        db_service = registered.get("postgres-service")
        self.namespace = pulumi.Output.from_input(s.namespace)
        self.deployment_name = deployment.metadata.apply(lambda m: m.name)
        self.service_name = service.metadata.apply(lambda m: m.name)
        # With an existing server there is no Service: the output is its host name (RDS: address).
        self.database_service_name = (
            db_service.metadata.apply(lambda m: m.name)
            if db_service
            else (rds_db.address if rds_db else pulumi.Output.from_input(s.database_host))
        )
        # RDS only: where it is and the master secret RDS manages (an ARN, not the password).
        self.database_endpoint = rds_db.address if rds_db else pulumi.Output.from_input(None)
        self.database_port = rds_db.port if rds_db else pulumi.Output.from_input(None)
        self.database_master_secret_arn = (
            rds_db.master_secret_arn if rds_db else pulumi.Output.from_input(None)
        )
        self.effective_pod_requests = _plain(pod_resources["web"]["requests"])
        self.effective_pod_limits = _plain(pod_resources["web"]["limits"])
        # Every pod kind (web, migrate, each schedule and process, postgres, broker).
        self.effective_resources = _plain(pod_resources)
        # Where the app's broker is (host only: the URL with its password is a secret file).
        self.broker_host = pulumi.Output.from_input(_broker_host(s))
        self.cache_host = pulumi.Output.from_input(_cache_host(s))
        self.secret_arns = pulumi.Output.from_input(dict(secrets.secret_arns))
        self.first_admin_username = pulumi.Output.from_input(
            s.first_admin.username if s.first_admin else None
        )
        self.first_admin_password_secret = pulumi.Output.from_input(
            None
            if s.first_admin is None
            else secrets.secret_arns[ADMIN_PASSWORD.key]
            if s.uses_aws
            else f"{s.namespace}/{credentials_secret_name(s)}#{ADMIN_PASSWORD.key}"
        )
        media_bucket, media_role = self._media_bucket, self._media_role
        self.media_bucket_name = (
            media_bucket.bucket_name if media_bucket else pulumi.Output.from_input(None)
        )
        self.media_prefix = pulumi.Output.from_input(
            media_settings.prefix(s.namespace, s.name) if media_bucket else None
        )
        self.media_role_arn = media_role.arn if media_role else pulumi.Output.from_input(None)
        self.deploy_checks_silenced = _plain(
            [check for check, _ in deploy_check.silenced(s)] if s.deploy_check.enabled else []
        )
        self.bucket_name = bucket.bucket_name if bucket else pulumi.Output.from_input(None)
        self.config_prefix = pulumi.Output.from_input(s.config_prefix if bucket else None)
        self.secret_arn = pulumi.Output.from_input(
            secrets.secret_arns.get(DATABASE_JSON.key) if s.uses_aws else None
        )
        self.role_arn = role.arn if role else pulumi.Output.from_input(None)
        self.backup_bucket_name = (
            backup_bucket.bucket_name if backup_bucket else pulumi.Output.from_input(None)
        )
        self.backup_prefix = pulumi.Output.from_input(
            backups.prefix(s.namespace, s.name) if backup_bucket else None
        )
        self.backup_role_arn = (
            backup_refs.role_arn if backup_refs else pulumi.Output.from_input(None)
        )
        self.restore_role_arn = (
            restore_role.arn if restore_role is not None else pulumi.Output.from_input(None)
        )
        # https:// for every host of the way in; none without one (kubectl port-forward).
        self.urls = _plain([f"https://{h}" for h in (s.way_in.hosts if s.way_in else ())])
        ingress = registered.get("ingress")
        # The load balancer's DNS name once the controller has made it (None for routes).
        self.ingress_hostname = (
            ingress.status.apply(_load_balancer_hostname)
            if ingress is not None
            else pulumi.Output.from_input(None)
        )
        self.register_outputs({name: getattr(self, name) for name in OUTPUTS})

    def _warn_class_drift(self, wanted: str, spec: Any, claim: str) -> None:
        # The SDK's typed output (a dict subclass with properties), or a plain dict.
        live = getattr(spec, "storage_class_name", None)
        if live is None and type(spec) is dict:
            live = spec.get("storageClassName")
        warning = database.class_drift_warning(wanted, live, claim)
        if warning:
            pulumi.log.warn(f"DjangoApp {self._settings.name!r}: {warning}", resource=self)

    def _apply(
        self,
        role: str,
        manifest: Mapping[str, Any],
        depends_on: list,
        keep: bool = False,
        replace_on_spec_change: bool = False,
        timeouts: Optional[pulumi.CustomTimeouts] = None,
        patch: bool = False,
        ignore: Optional[list] = None,
    ) -> Any:
        """Register one built object as ``<name>-<role>``, parented to the component.

        Nested camelCase fields go to the provider as they are (the SDK passes keys it does not
        know as Python names through unchanged), so what is registered is exactly what the
        builders produced and what tests and renders inspect.
        """
        cls = resource_class(manifest["apiVersion"], manifest["kind"] + ("Patch" if patch else ""))
        # Top-level fields are keyword arguments, so they need their Python names.
        fields = {
            _snake(k): v for k, v in manifest.items() if k not in ("apiVersion", "kind", "metadata")
        }
        if cls.__name__ == "CustomResource":
            fields = {"api_version": manifest["apiVersion"], "kind": manifest["kind"], **fields}
        return cls(
            f"{self._settings.name}-{role}",
            metadata=manifest["metadata"],
            **fields,
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=depends_on,
                protect=keep,
                retain_on_delete=keep,
                replace_on_changes=["spec"] if replace_on_spec_change else None,
                delete_before_replace=replace_on_spec_change or None,
                custom_timeouts=timeouts,
                ignore_changes=ignore,
            ),
        )

    def _role_of(
        self,
        s: Settings,
        account: str,
        purpose: str,
        description: str,
        policy_of: Callable[[Any], Any],
        association: Optional[str] = None,
        audience: str = TOKEN_AUDIENCE,
        sid: str = "FetchStepsOfOneServiceAccount",
    ) -> "tuple[aws.iam.Role, list[pulumi.Resource]]":
        """The role only ``account``'s credential steps can assume, its policy (``policy_of(partition)``)
        and, with pod-identity, the association: everything their first start needs."""
        assert s.aws is not None
        a = s.aws
        child = pulumi.ResourceOptions(parent=self)
        if a.workload_identity:
            # One path for plain strings and Outputs (a platform stack's StackReference): the
            # issuer is checked again here, once known, with the same message as up front.
            # Documents are built from resolved values and dumped once: Output.json_dumps would
            # unwrap them key by key, one Output each.
            trust: Any = pulumi.Output.all(a.oidc_provider_arn, a.oidc_provider_url).apply(
                lambda v: json.dumps(
                    workload_identity.trust_policy(
                        v[0],
                        checked_issuer(f"DjangoApp {s.name!r}", v[0], v[1]),
                        s.namespace,
                        account,
                        audience,
                        sid,
                    )
                )
            )
            partition = workload_identity.partition_of(a.oidc_provider_arn)
        else:
            trust = pulumi.Output.from_input(a.cluster_name).apply(
                lambda cluster: json.dumps(
                    workload_identity.pod_identity_trust_policy(s.namespace, account, cluster)
                )
            )
            partition = None
        role = aws.iam.Role(
            f"{s.name}-{purpose}-role",
            description=description,
            assume_role_policy=trust,
            opts=child,
        )
        if partition is None:
            # The role's own ARN names the partition (aws, aws-cn, aws-us-gov).
            partition = role.arn.apply(workload_identity.partition_of)
        policy = aws.iam.RolePolicy(
            f"{s.name}-{purpose}-policy", role=role.id, policy=policy_of(partition), opts=child
        )
        access: list[pulumi.Resource] = [role, policy]
        if a.pod_identity:
            # Read by the webhook when a pod is created: it must exist before the first pod.
            access.append(
                aws.eks.PodIdentityAssociation(
                    association or f"{s.name}-{purpose}-pod-identity",
                    cluster_name=a.cluster_name,
                    namespace=s.namespace,
                    service_account=account,
                    role_arn=role.arn,
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
                )
            )
        return role, access

    def _backup_side(
        self, s: Settings, refs: AwsRefs
    ) -> "tuple[AwsRefs, ConfigBucket, list[pulumi.Resource], aws.iam.Role]":
        """A bucket of its own (the config bucket's hardening, versions kept a day, archives
        expiring after retention_days, abandoned multipart uploads after a week), a write-only role
        for the upload step of the ``<app>-backup`` ServiceAccount, and a read-only one for the
        download step of the ``<app>-restore`` ServiceAccount."""
        assert s.aws is not None and s.backups is not None
        a, prefix = s.aws, backups.prefix(s.namespace, s.name)
        bucket = ConfigBucket(
            f"{s.name}-backups",
            {
                "prefix": prefix,
                "force_destroy": a.force_destroy,
                "protect": s.protect_data,
                "noncurrent_version_days": 1,
                "expiration": {
                    f"{prefix}/": s.backups.retention_days,
                    f"{prefix}/{backups.INCOMING}/": backups.INCOMING_DAYS,
                },
                **({"kms_key_arn": a.kms_key_arn} if a.kms_key_arn is not None else {}),
            },
            pulumi.ResourceOptions(parent=self),
        )

        def policy_of(document: Any) -> Any:
            """A policy document over this app's backup prefix, once partition and bucket are known."""
            return lambda partition: pulumi.Output.all(
                partition, bucket.bucket_name, a.kms_key_arn
            ).apply(lambda v: json.dumps(document(v[0], v[1], prefix, v[2])))

        role, access = self._role_of(
            s,
            backups.name(s.name),
            "backup",
            f"Backups of DjangoApp {s.name} in {s.namespace}: write its archives",
            policy_of(backups.access_policy),
        )
        # The restore Job's own role: it reads archives and can write none.
        restore_role, restore_access = self._role_of(
            s,
            backups.restore_account(s.name),
            "restore",
            f"Restores of DjangoApp {s.name} in {s.namespace}: read its archives",
            policy_of(backups.restore_access_policy),
        )
        if s.backups.restore_drill:
            # The drill's download step reads through the restore role on its first run.
            access = [*access, *restore_access]
        return (
            AwsRefs(
                bucket=bucket.bucket_name,
                region=refs.region,
                secret_ids={},
                role_arn=role.arn,
                restore_role_arn=restore_role.arn,
            ),
            bucket,
            access,
            restore_role,
        )

    def _media_side(
        self, s: Settings, refs: AwsRefs, fetch_role: aws.iam.Role
    ) -> "tuple[AwsRefs, list[pulumi.Resource]]":
        """The uploads bucket (the config bucket's hardening, overwritten and deleted uploads kept
        ``noncurrent_version_days``, CORS only when asked) and the app containers' access to its
        prefix: a role of their own (web-identity), or the policy on the one role EKS Pod
        Identity maps to the ServiceAccount."""
        assert s.aws is not None and s.media is not None
        a, m, prefix = s.aws, s.media, media_settings.prefix(s.namespace, s.name)
        bucket = ConfigBucket(
            f"{s.name}-media",
            {
                "prefix": prefix,
                "force_destroy": a.force_destroy,
                "protect": s.protect_data,
                "noncurrent_version_days": m.noncurrent_version_days,
                **({"cors_origins": list(m.cors_origins)} if m.cors_origins else {}),
                **({"kms_key_arn": a.kms_key_arn} if a.kms_key_arn is not None else {}),
            },
            pulumi.ResourceOptions(parent=self),
        )
        self._media_bucket = bucket

        def policy_of(partition: Any) -> Any:
            return pulumi.Output.all(partition, bucket.bucket_name, a.kms_key_arn).apply(
                lambda v: json.dumps(media.access_policy(v[0], v[1], prefix, v[2]))
            )

        if a.workload_identity:
            role, access = self._role_of(
                s,
                s.name,
                "media",
                f"App containers of DjangoApp {s.name} in {s.namespace}: its media uploads",
                policy_of,
                audience=m.token_audience,
                sid="AppContainersOfOneServiceAccount",
            )
            self._media_role = role
            return dataclasses.replace(
                refs, media_bucket=bucket.bucket_name, media_role_arn=role.arn
            ), [*bucket.readable, *access]
        # One role per ServiceAccount: the media policy joins the fetch role.
        policy = aws.iam.RolePolicy(
            f"{s.name}-media-policy",
            role=fetch_role.id,
            policy=policy_of(fetch_role.arn.apply(workload_identity.partition_of)),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self._media_role = fetch_role
        return dataclasses.replace(refs, media_bucket=bucket.bucket_name), [
            *bucket.readable,
            policy,
        ]

    def _db_admin_side(
        self, s: Settings, secrets: AppSecrets, rds_db: RdsDatabase
    ) -> "tuple[aws.iam.Role, list[pulumi.Resource]]":
        """The role only the role Job's fetch step can assume: the master secret and the app's
        database secret (and the app's KMS key when set), nothing else."""
        a = s.aws
        assert a is not None
        return self._role_of(
            s,
            rds.admin_account(s.name),
            "db-admin",
            f"Role Job of DjangoApp {s.name} in {s.namespace}: read the RDS master secret and the app's database secret",
            lambda partition: pulumi.Output.all(
                rds_db.master_secret_arn, secrets.secret_arns[DATABASE_JSON.key], a.kms_key_arn
            ).apply(lambda v: json.dumps(rds.access_policy(v[0], v[1], v[2]))),
        )

    def _aws_side(
        self, s: Settings, secrets: AppSecrets, rds_db: Optional[RdsDatabase] = None
    ) -> "tuple[AwsRefs, ConfigBucket, aws.iam.Role, list[pulumi.Resource]]":
        """Config bucket, the role only the fetch steps may assume, and everything their first
        start needs (role, policy, and with pod-identity the association)."""
        assert s.aws is not None
        a = s.aws
        bucket = ConfigBucket(
            f"{s.name}-config",
            {
                "prefix": s.config_prefix,
                "config_files": dict(s.config_files),
                "force_destroy": a.force_destroy,
                "protect": s.protect_data,
                **({"kms_key_arn": a.kms_key_arn} if a.kms_key_arn is not None else {}),
            },
            pulumi.ResourceOptions(parent=self),
        )
        role, access = self._role_of(
            s,
            s.name,
            "fetch",
            f"Fetch steps of DjangoApp {s.name} in {s.namespace}: read config and secrets",
            lambda partition: pulumi.Output.all(
                partition, bucket.bucket_name, a.kms_key_arn, *secrets.secret_arns.values()
            ).apply(
                lambda v: json.dumps(
                    workload_identity.access_policy(v[0], v[1], s.config_prefix, v[3:], v[2])
                )
            ),
            association=f"{s.name}-pod-identity",
        )
        region = (
            a.region
            if a.region is not None
            else aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=self)).region
        )
        refs = AwsRefs(
            bucket=bucket.bucket_name,
            region=region,
            secret_ids=secrets.secret_arns,
            role_arn=role.arn,
        )
        if s.media is not None:
            refs, media_access = self._media_side(s, refs, role)
            access = [*access, *media_access]
        if rds_db is not None:
            assert s.database.rds is not None
            refs = dataclasses.replace(
                refs,
                database_host=rds_db.address,
                database_cidrs=rds_db.cidrs,
                ca_bundle_url=rds.ca_bundle_url(s.database.rds, region),
                master_secret_arn=rds_db.master_secret_arn,
            )
        return refs, bucket, role, access


# The outputs, in the order the class declares them: ``register_outputs``, the stack program,
# the schema (each docstring is its description) and the README's table all read this one list.
OUTPUTS: tuple[str, ...] = tuple(
    name
    for name, kind in DjangoApp.__annotations__.items()
    if typing.get_origin(kind) is pulumi.Output
)
# Also on the class (not annotated, so the schema does not take it for an output).
DjangoApp.OUTPUTS = OUTPUTS

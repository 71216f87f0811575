"""The policies' checks, as plain functions of ``(args, report_violation)``.

Written independently of the component (no import from ``pulumi_djangoapp``), so that a bug shared by
the component and its policy cannot hide itself. Properties are the engine's camelCase inputs.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Iterable, Iterator, Mapping

Report = Callable[..., None]

WORKLOADS = {
    "kubernetes:apps/v1:Deployment",
    "kubernetes:apps/v1:StatefulSet",
    "kubernetes:apps/v1:DaemonSet",
    "kubernetes:batch/v1:Job",
    "kubernetes:batch/v1:CronJob",
    "kubernetes:core/v1:Pod",
}
_SECRET_NAME = re.compile(
    r"PASSWORD|PASSWD|SECRET|TOKEN|CREDENTIAL|PRIVATE_KEY|ACCESS_KEY|API_KEY", re.I
)
_PASSWORD_IN_URL = re.compile(r"://[^/@\s:]*:[^/@\s]+@")
# Names that refer to a secret (where it is, which one) rather than hold it.
_REFERENCE_SUFFIXES = ("_FILE", "_DIR", "_PATH", "_ID", "_ARN")
CLOUD_CREDENTIAL_ENV = {
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "AZURE_CLIENT_SECRET",
}


def pod_spec(resource_type: str, props: Mapping[str, Any]) -> Mapping[str, Any] | None:
    if resource_type not in WORKLOADS:
        return None
    spec = props.get("spec") or {}
    if resource_type == "kubernetes:core/v1:Pod":
        return spec
    if resource_type == "kubernetes:batch/v1:CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    return (spec.get("template") or {}).get("spec")


def containers(spec: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    yield from spec.get("initContainers") or []
    yield from spec.get("containers") or []


def _workload_containers(args) -> Iterable[tuple[Mapping[str, Any], Mapping[str, Any]]]:
    spec = pod_spec(args.resource_type, args.props)
    if spec:
        for container in containers(spec):
            yield spec, container


def no_secret_in_plain_env(args, report: Report) -> None:
    for _, container in _workload_containers(args):
        for item in container.get("env") or []:
            name, value = item.get("name", ""), item.get("value")
            if not isinstance(value, str):
                continue  # valueFrom, or unknown during preview
            if (
                _SECRET_NAME.search(name) and not name.endswith(_REFERENCE_SUFFIXES)
            ) or _PASSWORD_IN_URL.search(value):
                report(
                    f"container {container.get('name')!r}: env {name!r} holds a secret-looking value in plain text; mount it as a file"
                )


def containers_restricted(args, report: Report) -> None:
    for spec, container in _workload_containers(args):
        pod = spec.get("securityContext") or {}
        ctx = container.get("securityContext") or {}
        name = container.get("name")
        problems = []
        if ctx.get("allowPrivilegeEscalation") is not False:
            problems.append("allowPrivilegeEscalation must be false")
        if ctx.get("privileged"):
            problems.append("must not be privileged")
        if ctx.get("runAsNonRoot", pod.get("runAsNonRoot")) is not True:
            problems.append("runAsNonRoot must be true")
        if ctx.get("runAsUser", pod.get("runAsUser")) == 0:
            problems.append("runAsUser must not be 0")
        drops = [d.upper() for d in ((ctx.get("capabilities") or {}).get("drop") or [])]
        adds = [a.upper() for a in ((ctx.get("capabilities") or {}).get("add") or [])]
        if "ALL" not in drops:
            problems.append("capabilities must drop ALL")
        if set(adds) - {"NET_BIND_SERVICE"}:
            problems.append("only NET_BIND_SERVICE may be added")
        seccomp = (ctx.get("seccompProfile") or pod.get("seccompProfile") or {}).get("type")
        if seccomp not in ("RuntimeDefault", "Localhost"):
            problems.append("seccompProfile must be RuntimeDefault")
        if ctx.get("readOnlyRootFilesystem") is not True:
            problems.append("readOnlyRootFilesystem must be true")
        if problems:
            report(f"container {name!r} is not restricted: {'; '.join(problems)}")


def image_is_pinned(image: str) -> bool:
    if "@sha256:" in image:
        return True
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return False
    return last.rsplit(":", 1)[1].lower() not in ("", "latest")


def images_pinned(args, report: Report) -> None:
    for _, container in _workload_containers(args):
        image = container.get("image")
        if isinstance(image, str) and not image_is_pinned(image):
            report(
                f"container {container.get('name')!r}: image {image!r} must be pinned by a version tag or digest, never latest"
            )


# Pod-template annotations: the containers allowed the app's own cloud access (DjangoApp's media
# uploads), and the EKS Pod Identity webhook's list of containers it must not give credentials.
CLOUD_ACCESS_ANNOTATION = "djangoapp.io/cloud-access"
SKIP_CONTAINERS_ANNOTATION = "eks.amazonaws.com/skip-containers"
FETCH_STEPS = {"fetch-config", "fetch-secrets"}
# DjangoApp's other credential steps, each in a pod of its own ServiceAccount and role: the backup
# upload, the restore download, the RDS role Job's fetch.
CREDENTIAL_STEPS = {*FETCH_STEPS, "upload", "download", "fetch-credentials"}


def pod_annotations(resource_type: str, props: Mapping[str, Any]) -> Mapping[str, Any]:
    spec = props.get("spec") or {}
    if resource_type == "kubernetes:core/v1:Pod":
        return (props.get("metadata") or {}).get("annotations") or {}
    if resource_type == "kubernetes:batch/v1:CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    return ((spec.get("template") or {}).get("metadata") or {}).get("annotations") or {}


def _names(value: Any) -> set[str]:
    return {n for n in value.split(",") if n} if isinstance(value, str) else set()


def app_has_no_cloud_credentials(args, report: Report) -> None:
    """The app's containers hold no cloud credentials, except those a pod names in
    ``djangoapp.io/cloud-access``; those never with the fetch steps' role (web-identity)."""
    spec = pod_spec(args.resource_type, args.props)
    if not spec:
        return
    annotations = pod_annotations(args.resource_type, args.props)
    allowed = _names(annotations.get(CLOUD_ACCESS_ANNOTATION))
    fetch_roles = {
        item.get("value")
        for container in containers(spec)
        if container.get("name") in FETCH_STEPS
        for item in container.get("env") or []
        if item.get("name") == "AWS_ROLE_ARN"
    }
    if SKIP_CONTAINERS_ANNOTATION in annotations:
        skipped = _names(annotations[SKIP_CONTAINERS_ANNOTATION])
        for container in containers(spec):
            name = container.get("name")
            if name not in skipped and name not in FETCH_STEPS and name not in allowed:
                report(
                    f"container {name!r} is not skipped by the Pod Identity webhook: it gets the pod's role"
                )
    token_volumes = {
        v.get("name")
        for v in spec.get("volumes") or []
        if any(
            "serviceAccountToken" in (s or {})
            for s in ((v.get("projected") or {}).get("sources") or [])
        )
    }
    automount = spec.get("automountServiceAccountToken") is not False
    for container in containers(spec):
        if container.get("name") in allowed:
            roles = {
                item.get("value")
                for item in container.get("env") or []
                if item.get("name") == "AWS_ROLE_ARN"
            }
            if roles & fetch_roles - {None}:
                report(f"container {container.get('name')!r} holds the fetch steps' role")
            continue
        if container.get("name") in CREDENTIAL_STEPS:
            continue
        env = {item.get("name") for item in container.get("env") or []}
        for name in sorted(env & CLOUD_CREDENTIAL_ENV):
            report(f"container {container.get('name')!r} holds cloud credentials: env {name}")
        for mount in container.get("volumeMounts") or []:
            if mount.get("name") in token_volumes:
                report(
                    f"container {container.get('name')!r} mounts the service-account token volume {mount.get('name')!r}"
                )
    if automount:
        report("the pod automounts a service-account token into every container")


# Redis-protocol servers: the broker and the cache. Both keep a password in an ACL file from a
# Secret; `--requirepass` would put it in the pod spec, and no password at all lets every pod in.
KEY_VALUE_SERVERS = ("valkey-server", "redis-server")


def key_value_servers_authenticate(args, report: Report) -> None:
    for _, container in _workload_containers(args):
        argv = [*(container.get("command") or []), *(container.get("args") or [])]
        if (
            not argv
            or not isinstance(argv[0], str)
            or argv[0].rsplit("/", 1)[-1] not in KEY_VALUE_SERVERS
        ):
            continue
        name = container.get("name")
        if "--requirepass" in argv:
            report(
                f"container {name!r}: --requirepass puts the password in the pod spec; use --aclfile from a Secret"
            )
        elif "--aclfile" not in argv:
            report(
                f"container {name!r}: {argv[0]} without --aclfile accepts every client without a password"
            )


def s3_public_access_blocked(args, report: Report) -> None:
    if args.resource_type != "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock":
        return
    for flag in (
        "blockPublicAcls",
        "blockPublicPolicy",
        "ignorePublicAcls",
        "restrictPublicBuckets",
    ):
        if args.props.get(flag) is not True:
            report(f"public access block must set {flag} to true")


def s3_encryption_on(args, report: Report) -> None:
    if (
        args.resource_type
        != "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    ):
        return
    rules = args.props.get("rules") or []
    algorithms = [
        ((r or {}).get("applyServerSideEncryptionByDefault") or {}).get("sseAlgorithm")
        for r in rules
    ]
    if not algorithms or any(a not in ("aws:kms", "aws:kms:dsse", "AES256") for a in algorithms):
        report("bucket default encryption must be SSE-KMS or SSE-S3")


def every_bucket_is_guarded(args, report: Report) -> None:
    """Stack policy: each bucket has a public access block and default encryption."""
    buckets = [r for r in args.resources if r.resource_type == "aws:s3/bucket:Bucket"]
    guards: dict[str, set] = {}
    for r in args.resources:
        if r.resource_type in (
            "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        ):
            guards.setdefault(r.resource_type, set()).add(r.props.get("bucket"))
    for bucket in buckets:
        ident = bucket.props.get("bucket")
        if not isinstance(ident, str):
            continue  # name not known before the bucket exists (preview)
        for guard, label in (
            ("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "public access block"),
            (
                "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                "default encryption",
            ),
        ):
            if ident not in guards.get(guard, set()):
                report(f"bucket {bucket.name!r} has no {label}", bucket.urn)


RDS_INSTANCE = "aws:rds/instance:Instance"
# Days of automated backups a production database keeps at least (the API's default is 0 or 1).
RDS_MIN_RETENTION_DAYS = 7


def rds_encrypted(args, report: Report) -> None:
    if args.resource_type == RDS_INSTANCE and args.props.get("storageEncrypted") is not True:
        report("RDS instance storage must be encrypted (storageEncrypted: true)")


def rds_not_public(args, report: Report) -> None:
    if args.resource_type == RDS_INSTANCE and args.props.get("publiclyAccessible") is not False:
        report("RDS instance must not be publicly accessible (publiclyAccessible: false)")


def rds_backups_kept(args, report: Report) -> None:
    if args.resource_type != RDS_INSTANCE:
        return
    days = args.props.get("backupRetentionPeriod")
    if not isinstance(days, (int, float)) or days < RDS_MIN_RETENTION_DAYS:
        report(
            f"RDS instance must keep automated backups for at least {RDS_MIN_RETENTION_DAYS} days (backupRetentionPeriod is {days!r})"
        )


def rds_protected_when_protected(args, report: Report) -> None:
    """A protected instance (Pulumi's protect) must also be protected on AWS's side, keep its
    automated backups and leave a final snapshot: `protect` alone guards only this stack."""
    if args.resource_type != RDS_INSTANCE or not getattr(args.opts, "protect", False):
        return
    props = args.props
    if props.get("deletionProtection") is not True:
        report("protected RDS instance must set deletionProtection: true")
    if props.get("skipFinalSnapshot") is True or not props.get("finalSnapshotIdentifier"):
        report(
            "protected RDS instance must leave a final snapshot (finalSnapshotIdentifier, skipFinalSnapshot false)"
        )
    if props.get("deleteAutomatedBackups") is not False:
        report(
            "protected RDS instance must keep its automated backups after deletion (deleteAutomatedBackups: false)"
        )


RESOURCE_CHECKS = {
    "no-secret-in-plain-env": ("No secret in a plain environment value", no_secret_in_plain_env),
    "containers-restricted": (
        "Every container meets Pod Security 'restricted' with a read-only root",
        containers_restricted,
    ),
    "images-pinned": ("Images are pinned by tag or digest, never latest", images_pinned),
    "app-no-cloud-credentials": (
        "Only credential steps, and the containers a pod names in djangoapp.io/cloud-access (never with the fetch role), hold cloud credentials",
        app_has_no_cloud_credentials,
    ),
    "key-value-servers-authenticate": (
        "Valkey/Redis servers take their password from an ACL file, never the pod spec",
        key_value_servers_authenticate,
    ),
    "s3-public-access-blocked": (
        "S3 public access is blocked on all four flags",
        s3_public_access_blocked,
    ),
    "s3-encryption-on": ("S3 default encryption is on", s3_encryption_on),
    "rds-encrypted": ("RDS storage is encrypted", rds_encrypted),
    "rds-not-public": ("RDS instances are not publicly accessible", rds_not_public),
    "rds-backups-kept": ("RDS keeps at least 7 days of automated backups", rds_backups_kept),
    "rds-protected-when-protected": (
        "A protected RDS instance has deletion protection, a final snapshot and kept backups",
        rds_protected_when_protected,
    ),
}

"""The init steps that fetch config from S3 and secrets from Secrets Manager.

Only these two containers get AWS credentials, and their own ``HOME`` for the CLI's cache. With
web-identity: a projected service-account token for ``sts.amazonaws.com`` plus ``AWS_ROLE_ARN``
/ ``AWS_WEB_IDENTITY_TOKEN_FILE``, declared here. With pod-identity: what the EKS webhook injects
(``AWS_CONTAINER_CREDENTIALS_FULL_URI`` and its token), which the pod's skip-containers
annotation limits to these two. The app, the migrate step and the sidecars get none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional

from ..settings.app import Settings
from ..settings.aws import TOKEN_AUDIENCE
from ..settings.media import ACCESS_ANNOTATION
from ..settings.secret_files import SECRET_FILES
from .security import container
from .workload_identity import SKIP_CONTAINERS_ANNOTATION, token_volume

# The fetch step's and the RDS role Job's CA download: checked to be PEM, then moved into place.
DOWNLOAD_CA = """\
download_ca() {
  curl --fail --silent --show-error --location --proto '=https' --tlsv1.2 --retry 3 --output "$2.partial" "$1"
  grep -q -- '-----BEGIN CERTIFICATE-----' "$2.partial" || { echo "not a PEM bundle: $1" >&2; exit 1; }
  chmod 0444 "$2.partial"
  mv -f "$2.partial" "$2"
}
"""

TOKEN_VOLUME = "aws-token"

TOKEN_DIR = "/var/run/secrets/eks.amazonaws.com/serviceaccount"

HOME_VOLUME = "aws-home"

HOME_DIR = "/home/fetch"

FETCH_RESOURCES = {
    # The AWS CLI is a Python program: small CPU, but ~100Mi resident while it runs.
    "requests": {"cpu": "50m", "memory": "96Mi"},
    "limits": {"cpu": "500m", "memory": "256Mi"},
}


# Secret files the app reads, each fetched from its own Secrets Manager secret (or projected
# from the Kubernetes Secret of the same keys).
def _fetch_lines() -> str:
    always = [f for f in SECRET_FILES if f.feature is None]
    lines = [f'fetch "${f.secret_id_env}" {f.key}' for f in always]
    lines.append(f'written="{", ".join(f.key for f in always)}"')
    for f in SECRET_FILES:
        if f.feature is not None:
            lines += [
                f'if [ -n "${{{f.secret_id_env}:-}}" ]; then',
                f'  fetch "${f.secret_id_env}" {f.key}',
                f'  written="$written, {f.key}"',
                "fi",
            ]
    return "\n".join(lines) + "\n"


# One line per secret file of the table (settings/secret_files.py).
FETCH_LINES = _fetch_lines()

# Each secret goes to a temporary file with mode 0400 and is then renamed into place, so a
# restarted step (init containers are retried) replaces files whole and never leaves half of one.
FETCH_SECRETS_SCRIPT = (
    """\
set -eu
umask 077
"""
    + DOWNLOAD_CA
    + """\
fetch() {
  value=$(aws secretsmanager get-secret-value --secret-id "$1" --query SecretString --output text)
  tmp="$SECRETS_DIR/.$2.tmp"
  rm -f "$tmp"
  printf '%s' "$value" > "$tmp"
  chmod 0400 "$tmp"
  mv -f "$tmp" "$SECRETS_DIR/$2"
}
"""
    + FETCH_LINES
    + """\
if [ -n "${CA_BUNDLE_URL:-}" ]; then
  # The database's CA: the app's URL verifies the server with it (sslmode=verify-full).
  download_ca "$CA_BUNDLE_URL" "$SECRETS_DIR/rds-ca.pem"
  written="$written, rds-ca.pem"
fi
echo "fetch-secrets: wrote $written to $SECRETS_DIR"
"""
)


@dataclass(frozen=True)
class AwsRefs:
    """Values only known once AWS resources exist (Outputs in a deployment, strings in tests)."""

    bucket: Any
    region: Any
    secret_ids: Mapping[str, Any]
    role_arn: Optional[Any] = None
    # With an RDS database: its address, its subnets' CIDRs (a list), the CA bundle's URL and
    # the master secret (read only by the role Job).
    database_host: Any = None
    database_cidrs: Any = None
    ca_bundle_url: Any = None
    master_secret_arn: Any = None
    db_admin_role_arn: Any = None
    # With media: the uploads bucket and the role of the app's containers (web-identity).
    media_bucket: Any = None
    media_role_arn: Any = None
    # With backups: the restore role (the backup side's refs carry the backup role as role_arn).
    restore_role_arn: Any = None


def placeholder_refs(refs: AwsRefs) -> AwsRefs:
    """The same shape with fixed strings, for fingerprints that must not wait on Outputs."""
    return AwsRefs(
        bucket="bucket",
        region="region",
        secret_ids={f: f for f in refs.secret_ids},
        role_arn="role" if refs.role_arn is not None else None,
        database_host="database-host" if refs.database_host is not None else None,
        database_cidrs=["database-cidr"] if refs.database_cidrs is not None else None,
        ca_bundle_url="ca-bundle-url" if refs.ca_bundle_url is not None else None,
        master_secret_arn="master-secret" if refs.master_secret_arn is not None else None,
        db_admin_role_arn="db-admin-role" if refs.db_admin_role_arn is not None else None,
        media_bucket="media-bucket" if refs.media_bucket is not None else None,
        media_role_arn="media-role" if refs.media_role_arn is not None else None,
        restore_role_arn="restore-role" if refs.restore_role_arn is not None else None,
    )


def aws_env(s: Settings, refs: AwsRefs) -> list[dict]:
    assert s.aws is not None
    env = [
        {"name": "AWS_REGION", "value": refs.region},
        {"name": "AWS_DEFAULT_REGION", "value": refs.region},
        {"name": "AWS_STS_REGIONAL_ENDPOINTS", "value": "regional"},
        {"name": "AWS_PAGER", "value": ""},
        {"name": "HOME", "value": HOME_DIR},
    ]
    if s.aws.workload_identity:
        env += [
            {"name": "AWS_ROLE_ARN", "value": refs.role_arn},
            {"name": "AWS_WEB_IDENTITY_TOKEN_FILE", "value": f"{TOKEN_DIR}/token"},
            {"name": "AWS_ROLE_SESSION_NAME", "value": f"{s.name}-fetch"},
        ]
    if s.aws.endpoint_url:
        env.append({"name": "AWS_ENDPOINT_URL", "value": s.aws.endpoint_url})
    return env


def _mounts(s: Settings, own: dict) -> list[dict]:
    assert s.aws is not None
    mounts = [own, {"name": HOME_VOLUME, "mountPath": HOME_DIR}]
    if s.aws.workload_identity:
        mounts.append({"name": TOKEN_VOLUME, "mountPath": TOKEN_DIR, "readOnly": True})
    return mounts


def _fetch_container(s: Settings, name: str, **fields) -> dict:
    """What both fetch steps share: the aws-cli image, the app's UID, their resources."""
    assert s.aws is not None
    return container(
        name,
        s.aws.cli_image,
        s.image_pull_policy,
        s.run_as_user,
        resources=FETCH_RESOURCES,
        **fields,
    )


def fetch_config_container(s: Settings, refs: AwsRefs) -> dict:
    """``aws s3 sync`` of the app's prefix; ``--delete`` keeps a retried sync exact."""
    return _fetch_container(
        s,
        "fetch-config",
        # $(VAR) is expanded by the kubelet from the env below: no shell needed.
        command=[
            "aws",
            "s3",
            "sync",
            "s3://$(CONFIG_BUCKET)/$(CONFIG_PREFIX)/",
            "$(CONFIG_DIR)",
            "--delete",
            "--no-progress",
            "--only-show-errors",
        ],  # fmt: skip
        env=[
            {"name": "CONFIG_BUCKET", "value": refs.bucket},
            {"name": "CONFIG_PREFIX", "value": s.config_prefix},
            {"name": "CONFIG_DIR", "value": s.config_mount_path},
            *aws_env(s, refs),
        ],
        volumeMounts=_mounts(s, {"name": "config", "mountPath": s.config_mount_path}),
    )


def fetch_secrets_container(s: Settings, refs: AwsRefs) -> dict:
    return _fetch_container(
        s,
        "fetch-secrets",
        command=["sh", "-c", FETCH_SECRETS_SCRIPT],
        env=[
            {"name": "SECRETS_DIR", "value": s.secrets_mount_path},
            *({"name": f.secret_id_env, "value": refs.secret_ids[f.key]} for f in s.secret_files),
            *(
                [{"name": "CA_BUNDLE_URL", "value": refs.ca_bundle_url}]
                if refs.ca_bundle_url is not None
                else []
            ),
            *aws_env(s, refs),
        ],
        volumeMounts=_mounts(s, {"name": "secrets", "mountPath": s.secrets_mount_path}),
    )


FETCH_CONTAINERS = ("fetch-config", "fetch-secrets")


def credential_annotations(s: Settings, pod_spec: Mapping[str, Any]) -> dict[str, str]:
    """Pod annotations of the credential path: with pod-identity, every container but the fetch
    steps (and, with media, the app's own containers) is named in the webhook's skip list (it
    would otherwise inject into all of them); with media, the containers that hold the app's
    cloud access are named for the policy pack."""
    if s.aws is None:
        return {}
    annotations = {}
    if s.aws.pod_identity:
        containers = [*pod_spec.get("initContainers", []), *pod_spec["containers"]]
        granted = {*FETCH_CONTAINERS, *s.media_containers}
        skipped = [c["name"] for c in containers if c["name"] not in granted]
        annotations[SKIP_CONTAINERS_ANNOTATION] = ",".join(skipped)
    media = [c["name"] for c in pod_spec["containers"] if c["name"] in s.media_containers]
    if media:
        annotations[ACCESS_ANNOTATION] = ",".join(media)
    return annotations


def volumes(s: Settings) -> list[dict]:
    assert s.aws is not None
    vols: list[dict] = [
        {"name": HOME_VOLUME, "emptyDir": {"medium": "Memory", "sizeLimit": "16Mi"}}
    ]
    if s.aws.workload_identity:
        vols.append(token_volume(TOKEN_VOLUME, TOKEN_AUDIENCE))
    return vols

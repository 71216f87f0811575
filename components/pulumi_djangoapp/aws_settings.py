"""Validation of the AWS side: backend choice, OIDC provider, KMS key, recovery window, endpoint."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping, Optional

import pulumi

from .validation import Problems, image_problem, is_int

AWS_SECRETS_MANAGER = "aws-secrets-manager"
KUBERNETES = "kubernetes"
BACKENDS = (AWS_SECRETS_MANAGER, KUBERNETES)

# Pinned: the fetch steps' behaviour must not change under a redeploy. The same image as
# amazon/aws-cli on Docker Hub, from AWS's public registry: no anonymous pull limit for nodes
# behind one NAT address.
DEFAULT_AWS_CLI_IMAGE = "public.ecr.aws/aws-cli/aws-cli:2.22.35"
TOKEN_AUDIENCE = "sts.amazonaws.com"

# How the fetch steps get AWS credentials: always an explicit choice.
WEB_IDENTITY = "web-identity"  # IRSA-style: the cluster's OIDC provider, our own projected token
POD_IDENTITY = "pod-identity"  # EKS Pod Identity: an association and the node's agent
CREDENTIAL_PATHS = (WEB_IDENTITY, POD_IDENTITY)
_EKS_CLUSTER_NAME = re.compile(r"^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$")

_PARTITION = r"arn:aws(?:-[a-z]+)*"
_OIDC_ARN = re.compile(rf"^{_PARTITION}:iam::[0-9]{{12}}:oidc-provider/(?P<issuer>[^\s]+)$")
_OIDC_URL = re.compile(r"^(?:https://)?(?P<issuer>[a-z0-9.-]+\.[a-z]{2,}(?::[0-9]+)?(?:/[A-Za-z0-9._~-]+)*)/?$")
_KMS_KEY_ARN = re.compile(
    rf"^{_PARTITION}:kms:[a-z0-9-]+:[0-9]{{12}}:key/(?:[0-9a-f]{{8}}-[0-9a-f]{{4}}-[0-9a-f]{{4}}-[0-9a-f]{{4}}-[0-9a-f]{{12}}|mrk-[0-9a-f]{{32}})$"
)
_REGION = re.compile(r"^[a-z]{2}(?:-[a-z]+)+-[0-9]$")
_ENDPOINT = re.compile(r"^https?://[A-Za-z0-9.-]+(?::(?P<port>[0-9]{1,5}))?(?:/[^\s]*)?$")

# Arguments that only mean something when secrets and config live in AWS.
AWS_ONLY_ARGS = (
    "aws_region",
    "oidc_provider_arn",
    "oidc_provider_url",
    "kms_key_arn",
    "aws_endpoint_url",
    "secret_recovery_window_days",
    "config_bucket_force_destroy",
    "aws_cli_image",
    "aws_credentials",
    "eks_cluster_name",
)


@dataclass(frozen=True)
class AwsSettings:
    credentials: str  # web-identity | pod-identity
    # str, or an Output when it comes from another stack (then checked once it is known).
    region: Any
    oidc_provider_arn: Any
    oidc_provider_url: Any
    # Issuer host and path, without the scheme, as IAM condition keys spell it (None while the
    # provider is an Output).
    oidc_issuer: Optional[str]
    kms_key_arn: Any
    endpoint_url: Optional[str]
    recovery_window_days: int
    force_destroy: bool
    cli_image: str
    cluster_name: Any = None  # the EKS cluster of a pod-identity association

    @property
    def workload_identity(self) -> bool:
        """The web-identity path: our own projected token, a role trusting the OIDC provider."""
        return self.credentials == WEB_IDENTITY

    @property
    def pod_identity(self) -> bool:
        return self.credentials == POD_IDENTITY

    @property
    def endpoint_port(self) -> Optional[int]:
        """A non-HTTPS port the fetch steps must reach (a LocalStack or moto endpoint)."""
        if not self.endpoint_url:
            return None
        match = _ENDPOINT.match(self.endpoint_url)
        port = match.group("port") if match else None
        if port:
            return int(port)
        return 80 if self.endpoint_url.startswith("http://") else None


def is_output(value: Any) -> bool:
    return isinstance(value, pulumi.Output)


def oidc_issuer(problems: Problems, arn: Any, url: Any) -> Optional[str]:
    """The issuer both arguments name, or ``None`` with the problems recorded."""
    arn_match = _OIDC_ARN.match(arn) if isinstance(arn, str) else None
    url_match = _OIDC_URL.match(url) if isinstance(url, str) else None
    if not arn_match:
        problems.add(
            "oidc_provider_arn",
            arn,
            "must be an IAM OIDC provider ARN: arn:aws:iam::<account>:oidc-provider/<issuer>",
        )
    if not url_match:
        problems.add(
            "oidc_provider_url", url, "must be the issuer URL, e.g. https://oidc.eks.<region>.amazonaws.com/id/<ID>"
        )
    if not (arn_match and url_match):
        return None
    issuer = url_match.group("issuer")
    if arn_match.group("issuer") != issuer:
        problems.add("oidc_provider_url", url, f"must name the same issuer as oidc_provider_arn ({arn_match.group('issuer')})")
        return None
    return issuer


def checked_issuer(subject: str, arn: str, url: str) -> str:
    """``oidc_issuer`` for values that were Outputs: raises the same errors once they are known."""
    problems = Problems()
    issuer = oidc_issuer(problems, arn, url)
    problems.raise_if_any(subject)
    assert issuer is not None
    return issuer


def backend(problems: Problems, value: Any) -> str:
    if value not in BACKENDS:
        problems.add("secrets_backend", value, f"must be one of {', '.join(BACKENDS)}")
        return AWS_SECRETS_MANAGER
    return value


def _credentials(problems: Problems, args: Mapping[str, Any]) -> Optional[str]:
    """The credential path of the fetch steps. There is no ambient default: with neither a role
    the steps can assume nor an association the pod would loop on AccessDenied and never start.
    The OIDC provider arguments alone name the web-identity path."""
    value = args.get("aws_credentials")
    has_oidc = args.get("oidc_provider_arn") is not None or args.get("oidc_provider_url") is not None
    if value is None:
        if has_oidc:
            return WEB_IDENTITY
        problems.add(
            "aws_credentials",
            None,
            f"is required with secrets_backend '{AWS_SECRETS_MANAGER}': 'web-identity' (with "
            "oidc_provider_arn and oidc_provider_url) or 'pod-identity' (with eks_cluster_name); "
            f"or use secrets_backend '{KUBERNETES}' for no AWS at all",
        )
        return None
    if value not in CREDENTIAL_PATHS:
        problems.add("aws_credentials", value, f"must be one of {', '.join(CREDENTIAL_PATHS)}")
        return None
    if value == POD_IDENTITY and has_oidc:
        for key in ("oidc_provider_arn", "oidc_provider_url"):
            if args.get(key) is not None:
                problems.add(key, args[key], "only applies with aws_credentials 'web-identity'")
    return value


def normalise_aws(
    problems: Problems, args: Mapping[str, Any], backend_name: str, protect_data: bool
) -> Optional[AwsSettings]:
    """``AwsSettings`` for the AWS backend; for the Kubernetes backend, AWS-only args are errors."""
    if backend_name != AWS_SECRETS_MANAGER:
        for key in AWS_ONLY_ARGS:
            if key in args:
                problems.add(key, args[key], f"only applies with secrets_backend '{AWS_SECRETS_MANAGER}'")
        return None

    region = args.get("aws_region")
    if region is not None and not is_output(region) and (not isinstance(region, str) or not _REGION.match(region)):
        problems.add("aws_region", region, "must be an AWS region such as 'eu-west-1'")

    arn, url = args.get("oidc_provider_arn"), args.get("oidc_provider_url")
    credentials = _credentials(problems, args)
    issuer = None
    if credentials == WEB_IDENTITY:
        for key, value in (("oidc_provider_arn", arn), ("oidc_provider_url", url)):
            if value is None:
                problems.add(key, None, "is required with aws_credentials 'web-identity' (the cluster's IAM OIDC provider)")
        if arn is not None and url is not None and not (is_output(arn) or is_output(url)):
            issuer = oidc_issuer(problems, arn, url)
        # Outputs (a platform stack's StackReference) are checked by ``checked_issuer`` when known.
    cluster_name = args.get("eks_cluster_name")
    if credentials == POD_IDENTITY:
        if cluster_name is None:
            problems.add("eks_cluster_name", None, "is required with aws_credentials 'pod-identity' (the association's cluster)")
        elif not is_output(cluster_name) and (not isinstance(cluster_name, str) or not _EKS_CLUSTER_NAME.match(cluster_name)):
            problems.add("eks_cluster_name", cluster_name, "must be an EKS cluster name: 1-100 letters, digits, '-' and '_', starting with a letter or digit")
    elif cluster_name is not None:
        problems.add("eks_cluster_name", cluster_name, "only applies with aws_credentials 'pod-identity'")

    kms = args.get("kms_key_arn")
    if kms is not None and not is_output(kms) and (not isinstance(kms, str) or not _KMS_KEY_ARN.match(kms)):
        problems.add("kms_key_arn", kms, "must be a KMS key ARN: arn:aws:kms:<region>:<account>:key/<key-id>")

    endpoint = args.get("aws_endpoint_url")
    if endpoint is not None and (not isinstance(endpoint, str) or not _ENDPOINT.match(endpoint)):
        problems.add("aws_endpoint_url", endpoint, "must be an http(s) URL such as 'http://localstack:4566'")

    window = args.get("secret_recovery_window_days", 30)
    if not is_int(window) or not (window == 0 or 7 <= window <= 30):
        problems.add("secret_recovery_window_days", window, "must be 0 (delete at once) or 7 to 30 days")
    elif window == 0 and protect_data:
        problems.add("secret_recovery_window_days", window, "0 (delete at once) is not allowed with protect_data")

    force_destroy = args.get("config_bucket_force_destroy", False)
    if not isinstance(force_destroy, bool):
        problems.add("config_bucket_force_destroy", force_destroy, "must be true or false")
        force_destroy = False
    elif force_destroy and protect_data:
        problems.add("config_bucket_force_destroy", force_destroy, "cannot be combined with protect_data")

    cli_image = args.get("aws_cli_image", DEFAULT_AWS_CLI_IMAGE)
    problem = image_problem(cli_image)
    if problem:
        problems.add("aws_cli_image", cli_image, problem)

    valid_oidc = issuer is not None or (arn is not None and url is not None and (is_output(arn) or is_output(url)))
    return AwsSettings(
        credentials=credentials or WEB_IDENTITY,
        cluster_name=cluster_name if credentials == POD_IDENTITY else None,
        region=region if isinstance(region, str) or is_output(region) else None,
        oidc_provider_arn=arn if valid_oidc and credentials == WEB_IDENTITY else None,
        oidc_provider_url=url if valid_oidc and credentials == WEB_IDENTITY else None,
        oidc_issuer=issuer,
        kms_key_arn=kms,
        endpoint_url=endpoint,
        recovery_window_days=window if is_int(window) else 30,
        force_destroy=force_destroy,
        cli_image=cli_image if isinstance(cli_image, str) else "",
    )

"""Validation of the AWS side: backend choice, OIDC provider, KMS key, recovery window, endpoint."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping, Optional

import pulumi

from .args import DEFAULTS
from .checks import Problem, Problems, ValidationError, checked_bool, image_problem, is_int

AWS_SECRETS_MANAGER = "aws-secrets-manager"

KUBERNETES = "kubernetes"

BACKENDS = (AWS_SECRETS_MANAGER, KUBERNETES)

# Pinned: the fetch steps' behaviour must not change under a redeploy. The same image as
# amazon/aws-cli on Docker Hub, from AWS's public registry: no anonymous pull limit for nodes
# behind one NAT address. 2.27.57 and later are Amazon Linux 2023 with jq and curl (aws/aws-cli
# docker/Dockerfile, commits 54b1fc31c and e0dba6bc2): the RDS role Job's fetch step uses both.

from .sts import TOKEN_AUDIENCE  # noqa: E402,F401  (re-exported: fetch steps and roles read it here)

# How the fetch steps get AWS credentials: always an explicit choice.
WEB_IDENTITY = "web-identity"  # IRSA-style: the cluster's OIDC provider, our own projected token

POD_IDENTITY = "pod-identity"  # EKS Pod Identity: an association and the node's agent

CREDENTIAL_PATHS = (WEB_IDENTITY, POD_IDENTITY)

_EKS_CLUSTER_NAME = re.compile(r"^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$")

_PARTITION = r"arn:aws(?:-[a-z]+)*"

_OIDC_ARN = re.compile(rf"^{_PARTITION}:iam::[0-9]{{12}}:oidc-provider/(?P<issuer>[^\s]+)$")

_OIDC_URL = re.compile(
    r"^(?:https://)?(?P<issuer>[a-z0-9.-]+\.[a-z]{2,}(?::[0-9]+)?(?:/[A-Za-z0-9._~-]+)*)/?$"
)

KMS_KEY_ARN = re.compile(
    rf"^{_PARTITION}:kms:[a-z0-9-]+:[0-9]{{12}}:key/(?:[0-9a-f]{{8}}-[0-9a-f]{{4}}-[0-9a-f]{{4}}-[0-9a-f]{{4}}-[0-9a-f]{{12}}|mrk-[0-9a-f]{{32}})$"
)

_REGION = re.compile(r"^[a-z]{2,4}(?:-[a-z]+)+-[0-9]{1,2}$")

# Regions as of late 2026 (commercial, GovCloud, China, European Sovereign Cloud). The list ages:
# a region missing here is only warned about, never refused (opt-out: aws_region_check False).
KNOWN_REGIONS = frozenset(
    """us-east-1 us-east-2 us-west-1 us-west-2 ca-central-1 ca-west-1 mx-central-1 sa-east-1
    eu-central-1 eu-central-2 eu-west-1 eu-west-2 eu-west-3 eu-south-1 eu-south-2 eu-north-1
    il-central-1 me-south-1 me-central-1 af-south-1 ap-east-1 ap-east-2 ap-south-1 ap-south-2
    ap-southeast-1 ap-southeast-2 ap-southeast-3 ap-southeast-4 ap-southeast-5 ap-southeast-6
    ap-southeast-7 ap-northeast-1 ap-northeast-2 ap-northeast-3 us-gov-east-1 us-gov-west-1
    cn-north-1 cn-northwest-1 eusc-de-east-1""".split()
)


def unknown_region_warning(region: Any) -> Optional[str]:
    if isinstance(region, str) and _REGION.match(region) and region not in KNOWN_REGIONS:
        return (
            f"aws_region {region!r} is not a region this version knows; if it is new, ignore this "
            "(or set aws_region_check False), otherwise check for a typo"
        )
    return None


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
    "aws_region_check",
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
    region_check: bool = True

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
            "oidc_provider_url",
            url,
            "must be the issuer URL, e.g. https://oidc.eks.<region>.amazonaws.com/id/<ID>",
        )
    if not (arn_match and url_match):
        return None
    issuer = url_match.group("issuer")
    if arn_match.group("issuer") != issuer:
        problems.add(
            "oidc_provider_url",
            url,
            f"must name the same issuer as oidc_provider_arn ({arn_match.group('issuer')})",
        )
        return None
    return issuer


def kms_problem(problems: Problems, kms: Any, region: Optional[str]) -> None:
    """A key ARN, in the app's region: S3 and Secrets Manager only use keys of their own region."""
    match = KMS_KEY_ARN.match(kms) if isinstance(kms, str) else None
    if not match:
        problems.add(
            "kms_key_arn", kms, "must be a KMS key ARN: arn:aws:kms:<region>:<account>:key/<key-id>"
        )
    elif region and kms.split(":")[3] != region:
        problems.add(
            "kms_key_arn",
            kms,
            f"must be a key in the app's region {region} (S3 and Secrets Manager cannot use a key of another region)",
        )


def region_problem(problems: Problems, region: Any) -> None:
    if not isinstance(region, str) or not _REGION.match(region):
        problems.add("aws_region", region, "must be an AWS region such as 'eu-west-1'")


def cluster_name_problem(problems: Problems, name: Any) -> None:
    if not isinstance(name, str) or not _EKS_CLUSTER_NAME.match(name):
        problems.add(
            "eks_cluster_name",
            name,
            "must be an EKS cluster name: 1-100 letters, digits, '-' and '_', starting with a letter or digit",
        )


def checked_output(subject: str, value: Any, check: Any) -> Any:
    """``value`` (an Output from another stack) checked once known with the same rule as a plain
    value: every resource built from the returned Output waits for the check, so nothing is
    created from a value that would have been refused up front."""

    def verify(known: Any) -> Any:
        problems = Problems()
        check(problems, known)
        problems.raise_if_any(subject)
        return known

    async def hidden_if_secret(known: Any) -> Any:
        try:
            return verify(known)
        except ValidationError as error:
            if await value.is_secret():
                # A secure: value is named, never printed.
                raise ValidationError(
                    subject, [Problem(p.field, "[secret]", p.allowed) for p in error.problems]
                ) from None
            raise

    return value.apply(hidden_if_secret)


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
    has_oidc = (
        args.get("oidc_provider_arn") is not None or args.get("oidc_provider_url") is not None
    )
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
    problems: Problems,
    args: Mapping[str, Any],
    backend_name: str,
    protect_data: bool,
    subject: str = "DjangoApp",
) -> Optional[AwsSettings]:
    """``AwsSettings`` for the AWS backend; for the Kubernetes backend, AWS-only args are errors."""
    if backend_name != AWS_SECRETS_MANAGER:
        for key in AWS_ONLY_ARGS:
            if key in args:
                problems.add(
                    key, args[key], f"only applies with secrets_backend '{AWS_SECRETS_MANAGER}'"
                )
        return None

    region = args.get("aws_region")
    if region is not None and not is_output(region):
        region_problem(problems, region)

    arn, url = args.get("oidc_provider_arn"), args.get("oidc_provider_url")
    credentials = _credentials(problems, args)
    issuer = None
    if credentials == WEB_IDENTITY:
        for key, value in (("oidc_provider_arn", arn), ("oidc_provider_url", url)):
            if value is None:
                problems.add(
                    key,
                    None,
                    "is required with aws_credentials 'web-identity' (the cluster's IAM OIDC provider)",
                )
        if arn is not None and url is not None and not (is_output(arn) or is_output(url)):
            issuer = oidc_issuer(problems, arn, url)
        # Outputs (a platform stack's StackReference) are checked by ``checked_issuer`` when known.
    cluster_name = args.get("eks_cluster_name")
    if credentials == POD_IDENTITY:
        if cluster_name is None:
            problems.add(
                "eks_cluster_name",
                None,
                "is required with aws_credentials 'pod-identity' (the association's cluster)",
            )
        elif not is_output(cluster_name):
            cluster_name_problem(problems, cluster_name)
    elif cluster_name is not None:
        problems.add(
            "eks_cluster_name", cluster_name, "only applies with aws_credentials 'pod-identity'"
        )

    kms = args.get("kms_key_arn")
    if kms is not None and not is_output(kms):
        kms_problem(problems, kms, region if isinstance(region, str) else None)

    endpoint = args.get("aws_endpoint_url")
    match = _ENDPOINT.match(endpoint) if isinstance(endpoint, str) else None
    if endpoint is not None and not match:
        problems.add(
            "aws_endpoint_url", endpoint, "must be an http(s) URL such as 'http://localstack:4566'"
        )
    elif match and match.group("port") and not 1 <= int(match.group("port")) <= 65535:
        # The port is opened in a NetworkPolicy, whose port field the API server bounds.
        problems.add("aws_endpoint_url", endpoint, "must name a port from 1 to 65535")

    window = args.get("secret_recovery_window_days", DEFAULTS["secret_recovery_window_days"])
    if not is_int(window) or not (window == 0 or 7 <= window <= 30):
        problems.add(
            "secret_recovery_window_days", window, "must be 0 (delete at once) or 7 to 30 days"
        )
    elif window == 0 and protect_data:
        problems.add(
            "secret_recovery_window_days",
            window,
            "0 (delete at once) is not allowed with protect_data",
        )

    force_destroy = checked_bool(
        problems,
        "config_bucket_force_destroy",
        args.get("config_bucket_force_destroy", DEFAULTS["config_bucket_force_destroy"]),
        False,
    )
    if force_destroy and protect_data:
        problems.add(
            "config_bucket_force_destroy", force_destroy, "cannot be combined with protect_data"
        )

    cli_image = args.get("aws_cli_image", DEFAULTS["aws_cli_image"])
    problem = image_problem(cli_image)
    if problem:
        problems.add("aws_cli_image", cli_image, problem)

    valid_oidc = issuer is not None or (
        arn is not None and url is not None and (is_output(arn) or is_output(url))
    )
    # Values from another stack are checked once known, with the same messages; what the
    # component builds from them uses the checked Outputs only.
    if valid_oidc and (is_output(arn) or is_output(url)):
        pair = pulumi.Output.all(arn, url).apply(
            lambda v: (checked_issuer(subject, v[0], v[1]), v)[1]
        )
        arn, url = pair[0], pair[1]
    if is_output(region):
        region = checked_output(subject, region, region_problem)
    if is_output(kms):
        plain_region = region if isinstance(region, str) else None
        kms = checked_output(subject, kms, lambda p, v: kms_problem(p, v, plain_region))
    if is_output(cluster_name):
        cluster_name = checked_output(subject, cluster_name, cluster_name_problem)
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
        region_check=checked_bool(
            problems,
            "aws_region_check",
            args.get("aws_region_check", DEFAULTS["aws_region_check"]),
            DEFAULTS["aws_region_check"],
        ),
    )

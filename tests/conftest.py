import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from pulumi_djangoapp.builders.fetch import AwsRefs  # noqa: E402

IMAGE = {"image": "ghcr.io/acme/shop:1.4.2"}
OIDC = {
    "oidc_provider_arn": "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-3.amazonaws.com/id/5C0FFEE5",
    "oidc_provider_url": "https://oidc.eks.eu-west-3.amazonaws.com/id/5C0FFEE5",
}
# The smallest args of an AWS-backend app that can start: a credential path is required.
MINIMAL = {**IMAGE, **OIDC}
KUBERNETES_ONLY = {**IMAGE, "secrets_backend": "kubernetes"}
POD_IDENTITY = {**IMAGE, "aws_credentials": "pod-identity", "eks_cluster_name": "shop-prod"}
# What the AWS resources would be, for the pure builders.
REFS = AwsRefs(
    bucket="shop-config-bucket-1a2b3c",
    region="eu-west-3",
    secret_ids={
        "database.json": "arn:aws:secretsmanager:eu-west-3:123456789012:secret:db-AbCdEf",
        "database-url": "arn:aws:secretsmanager:eu-west-3:123456789012:secret:url-AbCdEf",
        "secret-key": "arn:aws:secretsmanager:eu-west-3:123456789012:secret:key-AbCdEf",
    },
    role_arn="arn:aws:iam::123456789012:role/shop-fetch-role-9f8e7d",
)


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT

"""An IAM role that only the fetch steps of one app can assume, and only to read that app's
config prefix and secrets.

The trust policy pins the cluster's OIDC issuer, the exact service account and the
``sts.amazonaws.com`` audience; the token carrying them is mounted into the fetch containers
only (see ``fetch.py``), never into the app or its sidecars.
"""

from __future__ import annotations

from typing import Any, Iterable, Optional

import pulumi

from .aws_settings import TOKEN_AUDIENCE


def partition_of(arn: Any) -> Any:
    """``aws``, ``aws-cn`` or ``aws-us-gov``: resource ARNs must use the provider's partition."""
    if isinstance(arn, pulumi.Output):
        return arn.apply(partition_of)
    return arn.split(":")[1]


def trust_policy(provider_arn: str, issuer: str, namespace: str, service_account: str) -> dict:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "FetchStepsOfOneServiceAccount",
                "Effect": "Allow",
                "Principal": {"Federated": provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        f"{issuer}:sub": f"system:serviceaccount:{namespace}:{service_account}",
                        f"{issuer}:aud": TOKEN_AUDIENCE,
                    }
                },
            }
        ],
    }


def access_policy(
    partition: Any,
    bucket_name: Any,
    prefix: str,
    secret_arns: Iterable[Any],
    kms_key_arn: Optional[Any] = None,
) -> dict:
    """Read this app's prefix and its own secrets; nothing else.

    ``bucket_name`` and the ARNs may be Outputs: the document goes through
    ``Output.json_dumps``.
    """
    bucket_arn = _concat("arn:", partition, ":s3:::", bucket_name)
    statements: list[dict] = [
        {
            "Sid": "ListOwnPrefix",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": bucket_arn,
            "Condition": {"StringLike": {"s3:prefix": [f"{prefix}/*", prefix]}},
        },
        {
            "Sid": "ReadOwnConfig",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": _concat("arn:", partition, ":s3:::", bucket_name, f"/{prefix}/*"),
        },
        {
            "Sid": "ReadOwnSecrets",
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": list(secret_arns),
        },
    ]
    if kms_key_arn is not None:
        statements.append(
            {"Sid": "DecryptWithAppKey", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": kms_key_arn}
        )
    return {"Version": "2012-10-17", "Statement": statements}


def _concat(*parts: Any) -> Any:
    if all(isinstance(p, str) for p in parts):
        return "".join(parts)
    return pulumi.Output.concat(*parts)

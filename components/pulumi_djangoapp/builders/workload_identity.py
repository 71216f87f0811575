"""An IAM role that only the fetch steps of one app can assume, and only to read that app's
config prefix and secrets.

web-identity: the trust policy pins the cluster's OIDC issuer, the exact service account and the
``sts.amazonaws.com`` audience; the token carrying them is mounted into the fetch containers
only (see ``fetch.py``), never into the app or its sidecars.

pod-identity: the role trusts the EKS Pod Identity service, and one association ties it to the
app's namespace and service account in one cluster; the pod annotation
``eks.amazonaws.com/skip-containers`` keeps the webhook from giving the credentials to any
container but the fetch steps (aws/amazon-eks-pod-identity-webhook ``pkg/handler/handler.go``,
``getContainersToSkip``: a comma-separated list of container names, init containers included).
"""

from __future__ import annotations

from typing import Any, Iterable, Optional

import pulumi

from ..settings.aws import TOKEN_AUDIENCE


def token_volume(name: str, audience: str) -> dict:
    """A projected ServiceAccount token for ``audience``, refreshed by the kubelet, readable by
    the pod's group only."""
    return {
        "name": name,
        "projected": {
            "sources": [
                {
                    "serviceAccountToken": {
                        "audience": audience,
                        "expirationSeconds": 3600,
                        "path": "token",
                    }
                }
            ],
            "defaultMode": 0o440,
        },
    }


def partition_of(arn: Any) -> Any:
    """``aws``, ``aws-cn`` or ``aws-us-gov``: resource ARNs must use the provider's partition."""
    if isinstance(arn, pulumi.Output):
        return arn.apply(partition_of)
    return arn.split(":")[1]


def trust_policy(
    provider_arn: str,
    issuer: str,
    namespace: str,
    service_account: str,
    audience: str = TOKEN_AUDIENCE,
    sid: str = "FetchStepsOfOneServiceAccount",
) -> dict:
    """Tokens of one ServiceAccount with one audience: IRSA cannot tell containers apart, only
    the tokens they are given (``audience``: the fetch steps' ``sts.amazonaws.com``, or the media
    containers' own)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": sid,
                "Effect": "Allow",
                "Principal": {"Federated": provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        f"{issuer}:sub": f"system:serviceaccount:{namespace}:{service_account}",
                        f"{issuer}:aud": audience,
                    }
                },
            }
        ],
    }


# The agent EKS Pod Identity runs on every node (a DaemonSet on the host network), and the
# service its role trust names.
POD_IDENTITY_SERVICE = "pods.eks.amazonaws.com"

POD_IDENTITY_AGENT_IPV4 = "169.254.170.23/32"

POD_IDENTITY_AGENT_IPV6 = "fd00:ec2::23/128"

POD_IDENTITY_AGENT_PORT = 80

SKIP_CONTAINERS_ANNOTATION = "eks.amazonaws.com/skip-containers"


def pod_identity_trust_policy(namespace: str, service_account: str, cluster_name: str) -> dict:
    """What EKS Pod Identity needs (AssumeRole and TagSession by its service principal), for this
    cluster, namespace and ServiceAccount only: without the conditions any association in the
    account could bind the role (EKS User Guide, "Create IAM role with trust policy required by
    EKS Pod Identity", Setting Conditions; the session tags Pod Identity adds by default)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "EksPodIdentity",
                "Effect": "Allow",
                "Principal": {"Service": POD_IDENTITY_SERVICE},
                "Action": ["sts:AssumeRole", "sts:TagSession"],
                "Condition": {
                    "StringEquals": {
                        "aws:RequestTag/eks-cluster-name": cluster_name,
                        "aws:RequestTag/kubernetes-namespace": namespace,
                        "aws:RequestTag/kubernetes-service-account": service_account,
                    }
                },
            }
        ],
    }


def kms_via(kms_key_arn: Any, *services: str) -> Any:
    """The condition that lets a role use the app's key only through ``services`` (S3, Secrets
    Manager) of the key's own region (``kms:ViaService``, AWS KMS Developer Guide): the role's
    credentials cannot decrypt with the key directly. The region and partition come from the key's
    ARN; the app's key is in the app's region (checked up front)."""

    def condition(arn: str) -> dict:
        _, partition, _, region = arn.split(":")[:4]
        suffix = "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com"
        return {
            "StringEquals": {
                "kms:ViaService": [f"{service}.{region}.{suffix}" for service in services]
            }
        }

    return condition(kms_key_arn) if isinstance(kms_key_arn, str) else kms_key_arn.apply(condition)


def access_policy(
    partition: Any,
    bucket_name: Any,
    prefix: str,
    secret_arns: Iterable[Any],
    kms_key_arn: Optional[Any] = None,
) -> dict:
    """Read this app's prefix and its own secrets; nothing else.

    With plain strings the document is plain; ``bucket_name`` and the ARNs may also be Outputs
    (the document then needs ``Output.json_dumps``).
    """
    bucket_arn = concat("arn:", partition, ":s3:::", bucket_name)
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
            "Resource": concat("arn:", partition, ":s3:::", bucket_name, f"/{prefix}/*"),
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
            {
                "Sid": "DecryptWithAppKey",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": kms_key_arn,
                "Condition": kms_via(kms_key_arn, "s3", "secretsmanager"),
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


def concat(*parts: Any) -> Any:
    if all(isinstance(p, str) for p in parts):
        return "".join(parts)
    return pulumi.Output.concat(*parts)

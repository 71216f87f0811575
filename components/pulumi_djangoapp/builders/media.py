"""User uploads: the app's containers reach exactly their media prefix, without keys.

Who holds credentials (the one exception to "only the fetch steps"): the containers that run the
app's own long-running code, ``django`` and each process and schedule container; never the init
steps (migrate, deploy-check, wait-for-migrations) nor sidecars.

web-identity: a role of its own (``<app>-media-role``) allowed only the prefix, a projected token
of ``media.token_audience`` mounted into those containers alone, and the role's ARN in their env.
IRSA trusts a ServiceAccount and an audience, not a container: with the default audience (the
fetch steps') the app's token could also assume the fetch role (which reads the config and secrets
the app already holds as files); with an audience of its own neither token assumes the other role.

pod-identity: EKS maps one role per ServiceAccount, so the media policy joins the fetch role and
the webhook stops skipping those containers: they can read the app's config and secrets too.

Every pod template with access names its containers in ``djangoapp.io/cloud-access``: the policy
pack flags any other container holding credentials.
"""

from __future__ import annotations

from typing import Any, Optional

from ..settings.app import Settings
from ..settings.media import prefix
from .fetch import AwsRefs
from .workload_identity import concat, kms_via, token_volume

TOKEN_VOLUME = "aws-media-token"

# Not the fetch steps' folder: a container gets one token, for one role.
TOKEN_DIR = "/var/run/secrets/media.eks.amazonaws.com/serviceaccount"

BUCKET_ENV = "DJANGO_MEDIA_BUCKET"

PREFIX_ENV = "DJANGO_MEDIA_PREFIX"

ENV = (BUCKET_ENV, PREFIX_ENV)


def env(s: Settings, refs: AwsRefs) -> list[dict]:
    assert s.aws is not None
    values = [
        {"name": BUCKET_ENV, "value": refs.media_bucket},
        {"name": PREFIX_ENV, "value": prefix(s.namespace, s.name)},
        {"name": "AWS_REGION", "value": refs.region},
        {"name": "AWS_DEFAULT_REGION", "value": refs.region},
        {"name": "AWS_STS_REGIONAL_ENDPOINTS", "value": "regional"},
    ]
    if s.aws.workload_identity:
        values += [
            {"name": "AWS_ROLE_ARN", "value": refs.media_role_arn},
            {"name": "AWS_WEB_IDENTITY_TOKEN_FILE", "value": f"{TOKEN_DIR}/token"},
            {"name": "AWS_ROLE_SESSION_NAME", "value": f"{s.name}-media"},
        ]
    if s.aws.endpoint_url:
        values.append({"name": "AWS_ENDPOINT_URL", "value": s.aws.endpoint_url})
    return values


def granted(s: Settings, container: dict, refs: Optional[AwsRefs]) -> dict:
    """``container`` with the media env (and, web-identity, its token), when it is one of
    :func:`containers`; unchanged otherwise."""
    if refs is None or container["name"] not in s.media_containers:
        return container
    assert s.aws is not None
    result = {**container, "env": [*container.get("env", []), *env(s, refs)]}
    if s.aws.workload_identity:
        result["volumeMounts"] = [
            *container.get("volumeMounts", []),
            {"name": TOKEN_VOLUME, "mountPath": TOKEN_DIR, "readOnly": True},
        ]
    return result


def volumes(s: Settings) -> list[dict]:
    if s.media is None or s.aws is None or not s.aws.workload_identity:
        return []
    return [token_volume(TOKEN_VOLUME, s.media.token_audience)]


def access_policy(
    partition: Any, bucket_name: Any, media_prefix: str, kms_key_arn: Optional[Any] = None
) -> dict:
    """Objects under the prefix (read, write, delete, abort an upload) and a listing limited to
    it; nothing else of the bucket, no other bucket, no bucket settings, no tags."""
    bucket_arn = concat("arn:", partition, ":s3:::", bucket_name)
    statements: list[dict] = [
        {
            "Sid": "ListMediaPrefix",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": bucket_arn,
            "Condition": {"StringLike": {"s3:prefix": [f"{media_prefix}/*", media_prefix]}},
        },
        {
            "Sid": "MediaObjects",
            "Effect": "Allow",
            "Action": [
                "s3:GetObject",
                "s3:PutObject",
                "s3:DeleteObject",
                "s3:AbortMultipartUpload",
            ],
            "Resource": concat(bucket_arn, f"/{media_prefix}/*"),
        },
    ]
    if kms_key_arn is not None:
        statements.append(
            {
                "Sid": "MediaWithAppKey",
                "Effect": "Allow",
                "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": kms_key_arn,
                "Condition": kms_via(kms_key_arn, "s3"),
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}

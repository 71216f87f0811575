"""``ConfigBucket``: an S3 bucket for an app's configuration, with secure defaults.

Usable alone (``ConfigBucket("cfg", {"config_files": {...}})``) or as a child of ``DjangoApp``.
Every control is its own child resource so that a reviewer (and a test) can see it.
"""

import json

from dataclasses import dataclass
from typing import Any, Dict, Mapping, NotRequired, Optional, TypedDict

import pulumi
import pulumi_aws as aws

from . import config_files
from .aws_settings import _KMS_KEY_ARN, is_output
from .validation import Problems, is_int, unknown_keys

TYPE_TOKEN = "djangoapp:index:ConfigBucket"


class ConfigBucketArgs(TypedDict):
    """Arguments of a configuration bucket."""

    prefix: NotRequired[str]
    """Key prefix the files are uploaded under (no leading or trailing '/'). Default: none."""
    config_files: NotRequired[Dict[str, str]]
    """Files by relative name; they override files of the same name from ``config_dir``.
    Default: none."""
    config_dir: NotRequired[str]
    """A local folder whose files (recursively) are uploaded. Default: none."""
    kms_key_arn: NotRequired[str]
    """Customer KMS key for SSE-KMS. Default: the AWS managed ``aws/s3`` key."""
    force_destroy: NotRequired[bool]
    """Let ``pulumi destroy`` delete a non-empty bucket. Default: ``False``."""
    noncurrent_version_days: NotRequired[int]
    """Days an overwritten or deleted version is kept. Default: ``30``."""
    protect: NotRequired[bool]
    """``protect`` and ``retain_on_delete`` on the bucket. Default: ``False``."""
    expiration: NotRequired[Dict[str, int]]
    """Days after which objects under a key prefix expire (``""``: every object). Default: none."""


@dataclass(frozen=True)
class BucketSettings:
    prefix: str
    files: tuple[tuple[str, str], ...]
    kms_key_arn: Optional[str]
    force_destroy: bool
    noncurrent_version_days: int
    protect: bool
    expiration: tuple[tuple[str, int], ...] = ()

    def key(self, name: str) -> str:
        return f"{self.prefix}/{name}" if self.prefix else name


def normalise_bucket(args: Mapping[str, Any], subject: str) -> BucketSettings:
    problems = Problems()
    unknown_keys(problems, args, ConfigBucketArgs)
    prefix = args.get("prefix", "")
    if not isinstance(prefix, str) or (prefix and config_files.relative_name_problem(prefix)):
        problems.add("prefix", prefix, "must be a relative key prefix such as 'shop/web'")
        prefix = ""
    kms = args.get("kms_key_arn")
    if kms is not None and not is_output(kms) and (not isinstance(kms, str) or not _KMS_KEY_ARN.match(kms)):
        problems.add("kms_key_arn", kms, "must be a KMS key ARN: arn:aws:kms:<region>:<account>:key/<key-id>")
    days = args.get("noncurrent_version_days", 30)
    if not is_int(days) or days < 1:
        problems.add("noncurrent_version_days", days, "must be an integer of at least 1")
    force_destroy, protect = args.get("force_destroy", False), args.get("protect", False)
    for field, value in (("force_destroy", force_destroy), ("protect", protect)):
        if not isinstance(value, bool):
            problems.add(field, value, "must be true or false")
    if force_destroy is True and protect is True:
        problems.add("force_destroy", force_destroy, "cannot be combined with protect")
    files = config_files.gather(problems, args.get("config_files"), args.get("config_dir"))
    expiration = args.get("expiration") or {}
    if not isinstance(expiration, Mapping) or not all(isinstance(k, str) and is_int(v) and v >= 1 for k, v in expiration.items()):
        problems.add("expiration", expiration, "must map key prefixes to a number of days of at least 1")
        expiration = {}
    problems.raise_if_any(subject)
    return BucketSettings(prefix, files, kms, force_destroy, days, protect, tuple(sorted(expiration.items())))


def _objects_of(bucket_arn: Any) -> Any:
    if isinstance(bucket_arn, pulumi.Output):
        return pulumi.Output.concat(bucket_arn, "/*")
    return f"{bucket_arn}/*"


def tls_only_policy(bucket_arn: Any) -> dict:
    """Deny every request that does not use TLS, for the bucket and its objects."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [bucket_arn, _objects_of(bucket_arn)],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ],
    }


class ConfigBucket(pulumi.ComponentResource):
    """A private, encrypted, versioned bucket holding configuration files under a prefix."""

    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]
    prefix: pulumi.Output[str]
    config_hash: pulumi.Output[str]

    def __init__(
        self, name: str, args: ConfigBucketArgs, opts: Optional[pulumi.ResourceOptions] = None
    ) -> None:
        settings = normalise_bucket(args, f"ConfigBucket {name!r}")
        super().__init__(TYPE_TOKEN, name, {}, opts)
        b = settings
        bucket = aws.s3.Bucket(
            f"{name}-bucket",
            force_destroy=b.force_destroy,
            opts=pulumi.ResourceOptions(parent=self, protect=b.protect, retain_on_delete=b.protect),
        )
        on_bucket = pulumi.ResourceOptions(parent=self, depends_on=[bucket])
        access_block = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access-block",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=on_bucket,
        )
        aws.s3.BucketOwnershipControls(
            f"{name}-ownership",
            bucket=bucket.id,
            rule={"object_ownership": "BucketOwnerEnforced"},
            opts=on_bucket,
        )
        encryption = aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=bucket.id,
            rules=[
                {
                    "apply_server_side_encryption_by_default": {
                        "sse_algorithm": "aws:kms",
                        **({"kms_master_key_id": b.kms_key_arn} if b.kms_key_arn is not None else {}),
                    },
                    # One KMS data key per bucket instead of per object: far fewer KMS calls.
                    "bucket_key_enabled": True,
                }
            ],
            opts=on_bucket,
        )
        versioning = aws.s3.BucketVersioning(
            f"{name}-versioning",
            bucket=bucket.id,
            versioning_configuration={"status": "Enabled"},
            opts=on_bucket,
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=bucket.id,
            rules=[
                {
                    "id": "expire-noncurrent-versions",
                    "status": "Enabled",
                    "filter": {},
                    "noncurrent_version_expiration": {"noncurrent_days": b.noncurrent_version_days},
                    "abort_incomplete_multipart_upload": {"days_after_initiation": 7},
                },
                *(
                    {
                        "id": f"expire-{key_prefix.strip('/').replace('/', '-') or 'all'}",
                        "status": "Enabled",
                        "filter": {"prefix": key_prefix} if key_prefix else {},
                        "expiration": {"days": days},
                    }
                    for key_prefix, days in b.expiration
                ),
            ],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[versioning]),
        )
        aws.s3.BucketPolicy(
            f"{name}-tls-only",
            bucket=bucket.id,
            # Built from the resolved ARN and dumped once (Output.json_dumps unwraps key by key).
            policy=bucket.arn.apply(lambda arn: json.dumps(tls_only_policy(arn))),
            # A policy is refused while the public access block is still being written.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[access_block]),
        )
        uploads = pulumi.ResourceOptions(parent=self, depends_on=[encryption, versioning])
        # What a reader needs before its first read: every file (each after encryption and
        # versioning), or the bucket when there are none. Depending on these few resources rather
        # than on the whole component spares every dependent the expansion to all children.
        self.readable: list[pulumi.Resource] = [bucket] if not b.files else []
        for file_name, content in b.files:
            self.readable.append(aws.s3.BucketObjectv2(
                # Named by file, so adding one file does not replace the others.
                f"{name}-file-{file_name}",
                bucket=bucket.id,
                key=b.key(file_name),
                content=content,
                content_type=_content_type(file_name),
                opts=uploads,
            ))

        self.bucket_name = bucket.id
        self.bucket_arn = bucket.arn
        self.prefix = pulumi.Output.from_input(b.prefix)
        self.config_hash = pulumi.Output.from_input(config_files.content_hash(b.files))
        self.register_outputs(
            {
                "bucket_name": self.bucket_name,
                "bucket_arn": self.bucket_arn,
                "prefix": self.prefix,
                "config_hash": self.config_hash,
            }
        )


def _content_type(file_name: str) -> str:
    suffix = file_name.rsplit(".", 1)[-1].lower() if "." in file_name else ""
    return {
        "json": "application/json",
        "yaml": "application/yaml",
        "yml": "application/yaml",
        "toml": "application/toml",
    }.get(suffix, "text/plain; charset=utf-8")

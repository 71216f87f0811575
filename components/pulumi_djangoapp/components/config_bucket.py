"""``ConfigBucket``: an S3 bucket for an app's configuration, with secure defaults.

Usable alone (``ConfigBucket("cfg", {"config_files": {...}})``) or as a child of ``DjangoApp``.
Every control is its own child resource so that a reviewer (and a test) can see it.
"""

import json
from typing import Optional

import pulumi
import pulumi_aws as aws

from ..builders.config_bucket import content_type, tls_only_policy
from ..settings import config_files
from ..settings.config_bucket import ConfigBucketArgs, normalise_bucket

TYPE_TOKEN = "djangoapp:index:ConfigBucket"


class ConfigBucket(pulumi.ComponentResource):
    """A private, encrypted, versioned bucket holding configuration files under a prefix."""

    bucket_name: pulumi.Output[str]
    """Always: the bucket's generated name."""
    bucket_arn: pulumi.Output[str]
    """Always: the bucket's ARN (for a policy of your own)."""
    prefix: pulumi.Output[str]
    """Always: the key prefix the files are under."""
    config_hash: pulumi.Output[str]
    """Always: a hash of the files' names and contents (a changed file, a new hash)."""

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
                        **(
                            {"kms_master_key_id": b.kms_key_arn}
                            if b.kms_key_arn is not None
                            else {}
                        ),
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
        if b.cors_origins:
            # Browsers uploading with presigned URLs; nothing is public (the access block stays).
            aws.s3.BucketCorsConfiguration(
                f"{name}-cors",
                bucket=bucket.id,
                cors_rules=[
                    {
                        "allowed_origins": list(b.cors_origins),
                        "allowed_methods": ["GET", "PUT", "POST", "HEAD"],
                        "allowed_headers": ["*"],
                        "expose_headers": ["ETag"],
                        "max_age_seconds": 3000,
                    }
                ],
                opts=on_bucket,
            )
        uploads = pulumi.ResourceOptions(parent=self, depends_on=[encryption, versioning])
        # What a reader needs before its first read: every file (each after encryption and
        # versioning), or the bucket when there are none. Depending on these few resources rather
        # than on the whole component spares every dependent the expansion to all children.
        self.readable: list[pulumi.Resource] = [bucket] if not b.files else []
        for file_name, content in b.files:
            self.readable.append(
                aws.s3.BucketObjectv2(
                    # Named by file, so adding one file does not replace the others.
                    f"{name}-file-{file_name}",
                    bucket=bucket.id,
                    key=b.key(file_name),
                    content=content,
                    content_type=content_type(file_name),
                    opts=uploads,
                )
            )

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

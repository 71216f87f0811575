"""``ConfigBucket``: an S3 bucket for an app's configuration, with secure defaults.

Usable alone (``ConfigBucket("cfg", {"config_files": {...}})``) or as a child of ``DjangoApp``.
Every control is its own child resource so that a reviewer (and a test) can see it.
"""

from __future__ import annotations

from typing import Any

import pulumi


def objects_of(bucket_arn: Any) -> Any:
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
                "Resource": [bucket_arn, objects_of(bucket_arn)],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ],
    }


def content_type(file_name: str) -> str:
    suffix = file_name.rsplit(".", 1)[-1].lower() if "." in file_name else ""
    return {
        "json": "application/json",
        "yaml": "application/yaml",
        "yml": "application/yaml",
        "toml": "application/toml",
    }.get(suffix, "text/plain; charset=utf-8")

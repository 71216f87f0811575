"""``ConfigBucket``: an S3 bucket for an app's configuration, with secure defaults.

Usable alone (``ConfigBucket("cfg", {"config_files": {...}})``) or as a child of ``DjangoApp``.
Every control is its own child resource so that a reviewer (and a test) can see it.
"""

from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, NotRequired, Optional, TypedDict

from . import config_files
from .aws import KMS_KEY_ARN, is_output
from .checks import Problems, checked_bool, is_int, unknown_keys


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
    cors_origins: NotRequired[List[str]]
    """Origins allowed to GET, PUT, POST and HEAD from a browser (presigned uploads). Default:
    none (no CORS rule)."""


@dataclass(frozen=True)
class BucketSettings:
    prefix: str
    files: tuple[tuple[str, str], ...]
    kms_key_arn: Optional[str]
    force_destroy: bool
    noncurrent_version_days: int
    protect: bool
    expiration: tuple[tuple[str, int], ...] = ()
    cors_origins: tuple[str, ...] = ()

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
    if (
        kms is not None
        and not is_output(kms)
        and (not isinstance(kms, str) or not KMS_KEY_ARN.match(kms))
    ):
        problems.add(
            "kms_key_arn", kms, "must be a KMS key ARN: arn:aws:kms:<region>:<account>:key/<key-id>"
        )
    days = args.get("noncurrent_version_days", 30)
    if not is_int(days) or days < 1:
        problems.add("noncurrent_version_days", days, "must be an integer of at least 1")
    force_destroy = checked_bool(problems, "force_destroy", args.get("force_destroy", False), False)
    protect = checked_bool(problems, "protect", args.get("protect", False), False)
    if force_destroy and protect:
        problems.add("force_destroy", force_destroy, "cannot be combined with protect")
    files = config_files.gather(problems, args.get("config_files"), args.get("config_dir"))
    expiration = args.get("expiration") or {}
    if not isinstance(expiration, Mapping) or not all(
        isinstance(k, str) and is_int(v) and v >= 1 for k, v in expiration.items()
    ):
        problems.add(
            "expiration", expiration, "must map key prefixes to a number of days of at least 1"
        )
        expiration = {}
    origins = args.get("cors_origins") or []
    if not isinstance(origins, (list, tuple)) or not all(
        isinstance(o, str) and o.startswith("https://") for o in origins
    ):
        problems.add("cors_origins", origins, "must be a list of https:// origins")
        origins = []
    problems.raise_if_any(subject)
    return BucketSettings(
        prefix,
        files,
        kms,
        force_destroy,
        days,
        protect,
        tuple(sorted(expiration.items())),
        tuple(origins),
    )

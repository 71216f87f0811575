"""An EBS StorageClass a stack can create for its database volume.

EKS clusters created on 1.30 or later have no default StorageClass (gp2 is no longer marked
default), and gp3 needs the EBS CSI driver and a class someone creates. This is opt-in and lives
at the stack level: a class is cluster-wide, so a platform team may already own one. Its name is
chosen by the stack so that it does not collide with a class the cluster already has.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping, NotRequired, Optional, TypedDict

from .aws import KMS_KEY_ARN
from .checks import Problems, unknown_keys

# The EBS CSI driver as an add-on, and the one built into EKS Auto Mode.
EBS_PROVISIONERS = ("ebs.csi.aws.com", "ebs.csi.eks.amazonaws.com")

VOLUME_TYPES = ("gp3", "gp2", "io1", "io2", "st1", "sc1")

RECLAIM_POLICIES = ("Retain", "Delete")

_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")


class StorageClassArgs(TypedDict):
    """An encrypted EBS StorageClass that binds where the pod lands and can grow."""

    name: str
    """Name of the class (cluster-wide: pick one the cluster does not have). Required."""
    provisioner: NotRequired[str]
    """``ebs.csi.aws.com`` (the EBS CSI driver add-on) or ``ebs.csi.eks.amazonaws.com`` (EKS
    Auto Mode). Default: ``ebs.csi.aws.com``."""
    volume_type: NotRequired[str]
    """EBS volume type. Default: ``gp3``."""
    kms_key_arn: NotRequired[str]
    """Customer KMS key of the volumes. Default: the account's EBS default key (volumes are
    always encrypted)."""
    reclaim_policy: NotRequired[str]
    """What happens to a volume when its claim is deleted: ``Retain`` keeps the data, ``Delete``
    deletes it. Default: ``Retain``."""


@dataclass(frozen=True)
class StorageClassSettings:
    name: str
    provisioner: str
    volume_type: str
    kms_key_arn: Optional[str]
    reclaim_policy: str


def normalise(args: Mapping[str, Any], field: str = "storage_class") -> StorageClassSettings:
    problems = Problems()
    raw = {k: v for k, v in args.items() if v is not None}
    unknown_keys(problems, raw, StorageClassArgs, f"{field}.")
    name = raw.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        problems.add(f"{field}.name", name, "is required: a StorageClass name (DNS-1123 subdomain)")
    choices = {
        "provisioner": (EBS_PROVISIONERS, EBS_PROVISIONERS[0]),
        "volume_type": (VOLUME_TYPES, "gp3"),
        "reclaim_policy": (RECLAIM_POLICIES, "Retain"),
    }
    chosen = {}
    for key, (allowed, default) in choices.items():
        value = raw.get(key, default)
        if value not in allowed:
            problems.add(f"{field}.{key}", value, f"must be one of {', '.join(allowed)}")
        chosen[key] = value
    kms = raw.get("kms_key_arn")
    if kms is not None and (not isinstance(kms, str) or not KMS_KEY_ARN.match(kms)):
        problems.add(
            f"{field}.kms_key_arn",
            kms,
            "must be a KMS key ARN: arn:aws:kms:<region>:<account>:key/<key-id>",
        )
    problems.raise_if_any("StorageClass")
    return StorageClassSettings(name=name, kms_key_arn=kms, **chosen)

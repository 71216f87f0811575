"""An EBS StorageClass a stack can create for its database volume.

EKS clusters created on 1.30 or later have no default StorageClass (gp2 is no longer marked
default), and gp3 needs the EBS CSI driver and a class someone creates. This is opt-in and lives
at the stack level: a class is cluster-wide, so a platform team may already own one. Its name is
chosen by the stack so that it does not collide with a class the cluster already has.
"""

from __future__ import annotations

from typing import Any, Optional

import pulumi

from ..builders.storage_class import storage_class
from ..settings.storage_class import StorageClassArgs, normalise


def create(
    resource_name: str, args: StorageClassArgs, opts: Optional[pulumi.ResourceOptions] = None
) -> Any:
    """Register the class (validated first: nothing is registered on bad input)."""
    from pulumi_kubernetes.storage.v1 import StorageClass

    manifest = storage_class(normalise(args))
    return StorageClass(
        resource_name,
        metadata=manifest["metadata"],
        provisioner=manifest["provisioner"],
        parameters=manifest["parameters"],
        volume_binding_mode=manifest["volumeBindingMode"],
        allow_volume_expansion=manifest["allowVolumeExpansion"],
        reclaim_policy=manifest["reclaimPolicy"],
        opts=opts,
    )

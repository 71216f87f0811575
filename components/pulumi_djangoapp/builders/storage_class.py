"""An EBS StorageClass a stack can create for its database volume.

EKS clusters created on 1.30 or later have no default StorageClass (gp2 is no longer marked
default), and gp3 needs the EBS CSI driver and a class someone creates. This is opt-in and lives
at the stack level: a class is cluster-wide, so a platform team may already own one. Its name is
chosen by the stack so that it does not collide with a class the cluster already has.
"""

from __future__ import annotations

from ..settings.storage_class import StorageClassSettings


def storage_class(s: StorageClassSettings) -> dict:
    """The class as applied: encrypted, bound where the pod is scheduled (an EBS volume lives in
    one zone), and expandable so a claim can grow in place."""
    parameters = {"type": s.volume_type, "encrypted": "true", "csi.storage.k8s.io/fstype": "ext4"}
    if s.kms_key_arn:
        parameters["kmsKeyId"] = s.kms_key_arn
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": s.name, "labels": {"app.kubernetes.io/managed-by": "pulumi"}},
        "provisioner": s.provisioner,
        "parameters": parameters,
        "volumeBindingMode": "WaitForFirstConsumer",
        "allowVolumeExpansion": True,
        "reclaimPolicy": s.reclaim_policy,
    }

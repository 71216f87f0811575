"""A HorizontalPodAutoscaler for the django container.

``ContainerResource`` metrics (GA in 1.30, below the oldest supported version) target the
django container alone: a ``Resource`` metric would divide the pod's summed usage by the summed
requests of every container, native sidecars included, and a log shipper would skew it. With an
HPA the Deployment's ``replicas`` is only the initial count: the component registers it with
``ignore_changes`` on ``spec.replicas`` so that no later ``up`` fights the autoscaler.
"""

from __future__ import annotations

from typing import Optional

from ..settings.autoscaling import AutoscalingSettings
from .labels import WEB, labels


def horizontal_pod_autoscaler(
    a: AutoscalingSettings,
    name: str,
    namespace: str,
    deployment: str,
    container: str = "django",
    instance: Optional[str] = None,
    component: str = WEB,
) -> dict:
    metrics = [
        {
            "type": "ContainerResource",
            "containerResource": {
                "name": resource,
                "container": container,
                "target": {"type": "Utilization", "averageUtilization": value},
            },
        }
        for resource, value in (("cpu", a.cpu_utilization), ("memory", a.memory_utilization))
        if value is not None
    ]
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": labels(instance or name, component),
        },
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": deployment},
            "minReplicas": a.min_replicas,
            "maxReplicas": a.max_replicas,
            "metrics": metrics,
        },
    }

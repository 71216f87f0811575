"""The objects around the Django pod: Namespace, ServiceAccount, Service, PodDisruptionBudget."""

from __future__ import annotations

from ..settings.app import Settings
from .labels import WEB, labels, selector_labels
from .way_in import READINESS_GATE_LABEL


def namespace(s: Settings) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": s.namespace,
            "labels": {
                **labels(s.name, WEB),
                # Every pod here must meet the restricted standard; the component's pods do.
                "pod-security.kubernetes.io/enforce": "restricted",
                "pod-security.kubernetes.io/enforce-version": "latest",
                # The AWS Load Balancer Controller injects readiness gates into new pods here:
                # a rollout waits until the ALB sees each new pod healthy.
                **({READINESS_GATE_LABEL: "enabled"} if s.way_in and s.way_in.alb else {}),
            },
        },
    }


def service_account(s: Settings) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": s.name, "namespace": s.namespace, "labels": labels(s.name, WEB)},
        "automountServiceAccountToken": False,
    }


def service(s: Settings) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": s.name, "namespace": s.namespace, "labels": labels(s.name, WEB)},
        "spec": {
            "type": "ClusterIP",
            "selector": selector_labels(s.name, WEB),
            "ports": [{"name": "http", "port": s.port, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def pod_disruption_budget(s: Settings) -> dict | None:
    """With two or more replicas, a node drain may take only one pod at a time; a pod that is not
    ready may always be evicted, so a crash-looping pod never blocks a drain."""
    floor = s.autoscaling.min_replicas if s.autoscaling else s.replicas
    if floor < 2:
        return None
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": s.name, "namespace": s.namespace, "labels": labels(s.name, WEB)},
        "spec": {
            "maxUnavailable": 1,
            "unhealthyPodEvictionPolicy": "AlwaysAllow",
            "selector": {"matchLabels": selector_labels(s.name, WEB)},
        },
    }

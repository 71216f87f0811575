"""The HPA: the django container's own usage, and no later `up` fighting it over replicas."""

import pytest
from conftest import MINIMAL, REFS
from harness import run_program

from pulumi_djangoapp import DjangoApp
from pulumi_djangoapp.builders import manifests
from pulumi_djangoapp.settings import normalise
from pulumi_djangoapp.settings.checks import ValidationError

PLACEHOLDERS = {"password": "p", "database_url": "u", "database_json": "j", "secret_key": "k"}


def objects(**args):
    s = normalise("shop", {**MINIMAL, **args})
    return {role: obj for role, obj in manifests.kubernetes_objects(s, PLACEHOLDERS, REFS)}


def test_the_hpa_scales_the_deployment_on_the_django_containers_cpu():
    hpa = objects(autoscaling={"min_replicas": 3, "max_replicas": 10})["hpa"]
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "shop",
    }
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (3, 10)
    (metric,) = hpa["spec"]["metrics"]
    # One container's usage over its own request: a sidecar cannot skew the ratio.
    assert metric == {
        "type": "ContainerResource",
        "containerResource": {
            "name": "cpu",
            "container": "django",
            "target": {"type": "Utilization", "averageUtilization": 70},
        },
    }


def test_memory_can_be_a_second_target():
    metrics = objects(autoscaling={"max_replicas": 4, "memory_utilization": 80})["hpa"]["spec"][
        "metrics"
    ]
    assert [m["containerResource"]["name"] for m in metrics] == ["cpu", "memory"]


def test_replicas_is_the_initial_count_and_defaults_to_the_floor():
    assert (
        objects(autoscaling={"min_replicas": 3, "max_replicas": 9})["deployment"]["spec"][
            "replicas"
        ]
        == 3
    )
    assert (
        objects(replicas=5, autoscaling={"min_replicas": 3, "max_replicas": 9})["deployment"][
            "spec"
        ]["replicas"]
        == 5
    )


def test_later_ups_never_fight_the_autoscaler_over_replicas():
    run = run_program(
        lambda: DjangoApp("shop", {**MINIMAL, "autoscaling": {"max_replicas": 6}}).namespace
    )
    assert "spec.replicas" in run.one("Deployment").ignore_changes
    fixed = run_program(lambda: DjangoApp("shop", MINIMAL).namespace)
    assert "spec.replicas" not in fixed.one("Deployment").ignore_changes


def test_the_pdb_stays_drainable_with_an_autoscaler():
    pdb = objects(replicas=2, autoscaling={"min_replicas": 2, "max_replicas": 6})["pdb"]["spec"]
    assert pdb["maxUnavailable"] == 1 and pdb["unhealthyPodEvictionPolicy"] == "AlwaysAllow"
    assert "pdb" not in objects(replicas=1, autoscaling={"min_replicas": 1, "max_replicas": 3})


@pytest.mark.parametrize(
    "args, field",
    [
        ({"autoscaling": {"min_replicas": 4, "max_replicas": 2}}, "autoscaling.max_replicas"),
        ({"autoscaling": {"min_replicas": 2}}, "autoscaling.max_replicas"),
        ({"autoscaling": {"max_replicas": 0}}, "autoscaling.max_replicas"),
        ({"autoscaling": {"max_replicas": 4, "cpu_utilization": 0}}, "autoscaling.cpu_utilization"),
        ({"autoscaling": {"max_replicas": 4, "target": 50}}, "autoscaling.target"),
        ({"replicas": 9, "autoscaling": {"min_replicas": 2, "max_replicas": 4}}, "replicas"),
    ],
)
def test_bounds_must_make_sense(args, field):
    with pytest.raises(ValidationError) as caught:
        normalise("shop", {**MINIMAL, **args})
    assert field in {p.field for p in caught.value.problems}

from fractions import Fraction

from pulumi_djangoapp.builders.effective_resources import (
    ContainerResources,
    effective_pod_resources,
    format_resources,
)
from pulumi_djangoapp.settings.quantities import parse_quantity


def c(name, role, requests=None, limits=None):
    return ContainerResources(
        name,
        role,
        {k: parse_quantity(v) for k, v in (requests or {}).items()},
        {k: parse_quantity(v) for k, v in (limits or {}).items()},
    )


def test_sidecar_listed_before_an_init_step_adds_to_it():
    # The Kubernetes docs' example: sidecar 100m before init 200m, app 50m -> 300m.
    requests, _ = effective_pod_resources(
        [
            c("log", "sidecar", {"cpu": "100m"}),
            c("init", "init", {"cpu": "200m"}),
            c("app", "app", {"cpu": "50m"}),
        ]
    )
    assert requests["cpu"] == Fraction(3, 10)


def test_sidecar_listed_after_an_init_step_does_not_add_to_it():
    requests, _ = effective_pod_resources(
        [
            c("init", "init", {"cpu": "200m"}),
            c("log", "sidecar", {"cpu": "100m"}),
            c("app", "app", {"cpu": "50m"}),
        ]
    )
    assert requests["cpu"] == Fraction(200, 1000)


def test_highest_init_request_wins_over_a_smaller_run_phase():
    # Init containers docs: the effective init request is the highest of any init container.
    requests, _ = effective_pod_resources(
        [
            c("a", "init", {"memory": "256Mi"}),
            c("b", "init", {"memory": "1Gi"}),
            c("app", "app", {"memory": "512Mi"}),
        ]
    )
    assert requests["memory"] == 2**30


def test_run_phase_sums_sidecars_and_app_containers():
    requests, _ = effective_pod_resources(
        [
            c("s1", "sidecar", {"cpu": "100m"}),
            c("init", "init", {"cpu": "10m"}),
            c("s2", "sidecar", {"cpu": "100m"}),
            c("app", "app", {"cpu": "500m"}),
            c("app2", "app", {"cpu": "250m"}),
        ]
    )
    assert requests["cpu"] == Fraction(950, 1000)


def test_unset_limit_makes_the_pod_limit_unbounded():
    _, limits = effective_pod_resources(
        [c("log", "sidecar", {"cpu": "10m"}, {}), c("app", "app", {"cpu": "1"}, {"cpu": "2"})]
    )
    assert limits["cpu"] is None
    assert format_resources(limits) == {}


def test_limits_follow_the_same_formula_when_all_are_set():
    _, limits = effective_pod_resources(
        [
            c("log", "sidecar", limits={"memory": "128Mi"}),
            c("migrate", "init", limits={"memory": "1Gi"}),
            c("app", "app", limits={"memory": "512Mi"}),
        ]
    )
    assert limits["memory"] == 2**30 + 128 * 2**20


def test_limit_without_request_counts_as_the_request():
    requests, _ = effective_pod_resources([c("app", "app", {}, {"cpu": "300m"})])
    assert requests["cpu"] == Fraction(3, 10)


def test_formatted_output_names_each_resource_once():
    requests, limits = effective_pod_resources(
        [c("app", "app", {"cpu": "350m", "memory": "320Mi"}, {"cpu": "1", "memory": "1Gi"})]
    )
    assert format_resources(requests) == {"cpu": "350m", "memory": "320Mi"}
    assert format_resources(limits) == {"cpu": "1", "memory": "1Gi"}


def test_a_container_with_neither_request_nor_limit_adds_nothing_to_the_pod():
    from pulumi_djangoapp.builders.effective_resources import ContainerResources

    containers = [
        ContainerResources(name="app", role="app", requests={"cpu": Fraction(1, 10)}, limits={}),
        ContainerResources(name="bare", role="app", requests={}, limits={}),
    ]
    requests, limits = effective_pod_resources(containers)
    assert requests == {"cpu": Fraction(1, 10)}
    assert format_resources(requests) == {"cpu": "100m"}


def test_an_explicit_zero_request_stays_zero():
    from pulumi_djangoapp.builders.effective_resources import ContainerResources

    requests, _ = effective_pod_resources(
        [ContainerResources(name="app", role="app", requests={"cpu": Fraction(0)}, limits={})]
    )
    assert requests == {"cpu": 0}


def test_each_resource_is_formatted_for_what_it_is():
    assert format_resources({"cpu": Fraction(2048), "memory": Fraction(2048)}) == {
        "cpu": "2048",
        "memory": "2Ki",
    }

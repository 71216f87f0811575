"""Workers scaled on their queue: the arguments and what they refuse, the ScaledObject and its
TriggerAuthentication (checked against KEDA's own CRD schemas), the scaler's broker user, the
replica count KEDA owns, and the broker's NetworkPolicy. Real Celery lists read by KEDA's own
script as that user: ``contract/test_contract_queue_autoscaling.py``."""

import json

import crd_schema
import pytest
import upstream
from conftest import KUBERNETES_ONLY, MINIMAL
from harness import run_program

from pulumi_djangoapp import DjangoApp
from pulumi_djangoapp.builders import broker, queue_autoscaling
from pulumi_djangoapp.settings import normalise
from pulumi_djangoapp.settings.checks import ValidationError

WORKER = {"name": "worker", "command": ["celery", "-A", "project", "worker"]}


def args(base=MINIMAL, scaling=None, **extra):
    process = {**WORKER, "queue_autoscaling": scaling or {"max_replicas": 6}, **extra}
    return {**base, "broker": {}, "processes": [process]}


def refused(a):
    with pytest.raises(ValidationError) as error:
        normalise("shop", a)
    return {p.field: p for p in error.value.problems}


def built(a=None):
    s = normalise("shop", a or args())
    (process,) = s.processes
    return s, queue_autoscaling.scaled_object(s, process, "shop-worker")


@pytest.fixture(scope="module")
def crds():
    return upstream.keda_crds()


def test_a_queue_scaled_worker_watches_every_priority_list_of_its_queues_by_default():
    s, scaled = built(args(scaling={"max_replicas": 6, "queues": ["celery", "mail"]}))
    q = s.processes[0].queue_autoscaling
    assert (q.min_replicas, q.max_replicas, q.messages_per_replica, q.fallback_replicas) == (
        1, 6, 20, 1,
    )  # fmt: skip
    lists = [t["metadata"]["listName"] for t in scaled["spec"]["triggers"]]
    assert lists == [
        "celery", "celery\x06\x163", "celery\x06\x166", "celery\x06\x169",
        "mail", "mail\x06\x163", "mail\x06\x166", "mail\x06\x169",
    ]  # fmt: skip
    _, one = built(args(scaling={"max_replicas": 6, "priority_steps": [0]}))
    assert [t["metadata"]["listName"] for t in one["spec"]["triggers"]] == ["celery"]


def test_the_scaled_object_and_its_authentication_pass_kedas_own_crd_schemas(crds):
    s, scaled = built(args(scaling={"max_replicas": 6, "min_replicas": 0, "cooldown_seconds": 60}))
    assert crd_schema.errors(scaled, crds["ScaledObject"]) == []
    assert (
        crd_schema.errors(
            queue_autoscaling.trigger_authentication(s), crds["TriggerAuthentication"]
        )
        == []
    )


def test_a_scaled_object_with_a_misspelt_field_cannot_pass_kedas_schema(crds):
    _, scaled = built()
    scaled["spec"]["minReplicas"] = 1
    scaled["spec"]["fallback"]["replicas"] = "one"
    problems = crd_schema.errors(scaled, crds["ScaledObject"])
    assert any("minReplicas" in p for p in problems) and any(
        "fallback.replicas" in p for p in problems
    )


def test_the_scaled_object_holds_no_password_only_a_reference_to_the_secrets_keys():
    s, scaled = built()
    for trigger in scaled["spec"]["triggers"]:
        assert set(trigger["metadata"]) == {
            "address", "listName", "listLength", "activationListLength", "databaseIndex",
        }  # fmt: skip
        assert trigger["metadata"]["address"] == f"{broker.host('shop', 'shop')}:6379"
        assert trigger["authenticationRef"] == {"name": "shop-broker-scaler"}
    refs = queue_autoscaling.trigger_authentication(s)["spec"]["secretTargetRef"]
    assert {(r["parameter"], r["name"], r["key"]) for r in refs} == {
        ("username", "shop-credentials", "broker-scaler-username"),
        ("password", "shop-credentials", "broker-scaler-password"),
    }


def test_the_scaler_user_may_run_kedas_read_script_and_nothing_that_reads_or_writes_a_message():
    line = queue_autoscaling.scaler_acl_line("pw")
    assert line.startswith("user keda-scaler on >pw ") and "-@all" in line
    granted = {word[1:] for word in line.split() if word.startswith("+")}
    assert granted == {"ping", "hello", "auth", "eval", "type", "llen", "zcard", "scard", "hlen"}
    assert not any(g.startswith("@") for g in granted), "a category grants more than it says"
    # What KEDA's script calls (pkg/scalers/redis_scaler.go), read from its source.
    script = upstream.keda_redis_script()
    called = set(__import__("re").findall(r"redis\.call\('(\w+)'", script))
    assert called <= granted and not {"lrange", "lpop", "del", "set"} & granted


@pytest.mark.parametrize(
    "a, field, says",
    [
        (args() | {"processes": [{**WORKER, "autoscaling": {"max_replicas": 3}, "queue_autoscaling": {"max_replicas": 6}}]},
         "processes[0].queue_autoscaling", "choose one"),
        (args() | {"processes": [{**WORKER, "singleton": True, "queue_autoscaling": {"max_replicas": 6}}]},
         "processes[0].queue_autoscaling", "singleton"),
        (args() | {"processes": [{**WORKER, "replicas": 3, "queue_autoscaling": {"max_replicas": 6}}]},
         "processes[0].replicas", "min_replicas"),
        (args() | {"broker": {"url": "redis://redis.example.com:6379/0"}},
         "processes[].queue_autoscaling", "in-cluster broker"),
        ({k: v for k, v in args().items() if k != "broker"},
         "processes[].queue_autoscaling", "in-cluster broker"),
        ({**MINIMAL, "keda": {}}, "keda", "queue_autoscaling"),
        (args(scaling={"min_replicas": 1}), "processes[0].queue_autoscaling.max_replicas", "required"),
    ],
)  # fmt: skip
def test_queue_autoscaling_cannot_be_what_would_fight_or_not_run(a, field, says):
    problems = refused(a)
    assert field in problems and says in problems[field].allowed


def test_every_bad_value_is_reported_at_once():
    problems = refused(
        args(scaling={"max_replicas": 2, "min_replicas": 5, "queues": ["a b"], "priority_steps": [3],
                      "polling_seconds": 1, "fallback_replicas": 9, "speed": 1})
    )  # fmt: skip
    prefix = "processes[0].queue_autoscaling."
    assert {f"{prefix}{f}" for f in (
        "min_replicas", "queues", "priority_steps", "polling_seconds", "fallback_replicas", "speed",
    )} <= set(problems)  # fmt: skip


@pytest.fixture(scope="module")
def registered():
    return run_program(lambda: DjangoApp("shop", args()).namespace)


def test_keda_owns_the_replica_count_and_the_scaled_object_follows_its_deployment(registered):
    deployment = registered.one("apps/v1:Deployment", "shop-process-worker")
    assert deployment.ignore_changes == ["spec.replicas"]
    assert deployment.inputs["spec"]["replicas"] == 1
    scaled = registered.one(":ScaledObject")
    assert scaled.name == "shop-scaled-worker" and deployment.urn in scaled.dependencies
    assert scaled.inputs["spec"]["scaleTargetRef"]["name"] == deployment.inputs["metadata"]["name"]
    auth = registered.one(":TriggerAuthentication")
    assert registered.one("core/v1:Secret").urn in auth.dependencies


def test_the_broker_gets_the_scaler_user_and_restarts_once_to_load_it(registered):
    acl = registered.one("core/v1:Secret").inputs["stringData"]["broker-users.acl"]
    assert [line.split()[1] for line in acl.splitlines()] == ["default", "keda-scaler"]
    template = registered.one("StatefulSet", "shop-broker").inputs["spec"]["template"]
    assert template["metadata"]["annotations"] == {
        broker.ACL_USERS_ANNOTATION: "default,keda-scaler"
    }


def test_without_queue_autoscaling_the_broker_has_one_user_and_no_annotation():
    run = run_program(
        lambda: DjangoApp("shop", {**MINIMAL, "broker": {}, "processes": [WORKER]}).namespace
    )
    acl = run.one("core/v1:Secret").inputs["stringData"]["broker-users.acl"]
    assert len(acl.splitlines()) == 1
    assert (
        "annotations"
        not in run.one("StatefulSet", "shop-broker").inputs["spec"]["template"]["metadata"]
    )
    assert not run.of_type(":ScaledObject") and not run.of_type(":TriggerAuthentication")


def test_the_broker_admits_the_keda_operator_from_its_namespace_only(registered):
    policy = next(
        r.inputs["spec"] for r in registered.of_type("NetworkPolicy")
        if r.inputs["metadata"]["name"] == "shop-broker"
    )  # fmt: skip
    peers = policy["ingress"][0]["from"]
    assert {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "keda"}},
        "podSelector": {"matchLabels": {"app": "keda-operator"}},
    } in peers
    custom = normalise(
        "shop", {**args(), "keda": {"namespace": "autoscaling", "pod_labels": {"app": "keda"}}}
    )
    assert custom.keda.namespace == "autoscaling" and custom.keda.pod_labels == (("app", "keda"),)


def test_queue_autoscaling_works_with_the_kubernetes_backend_too():
    run = run_program(lambda: DjangoApp("shop", args(KUBERNETES_ONLY)).namespace)
    data = run.one("core/v1:Secret").inputs["stringData"]
    assert data[
        "broker-scaler-username"
    ] == "keda-scaler" and "broker-scaler-password" in json.dumps(sorted(data))

"""The broker: an in-cluster Valkey with its password as an ACL file, or an external server."""

import pytest
from conftest import KUBERNETES_ONLY, MINIMAL
from harness import is_secret, run_program
from test_processes import WORKER, objects, pod

from pulumi_djangoapp import DjangoApp
from pulumi_djangoapp.builders import broker
from pulumi_djangoapp.settings import normalise
from pulumi_djangoapp.settings.checks import ValidationError

ELASTICACHE = "rediss://master.shop.abc123.euw3.cache.amazonaws.com:6380/1"


def refused(**args):
    with pytest.raises(ValidationError) as error:
        normalise("shop", {**MINIMAL, **args})
    return {p.field: p for p in error.value.problems}


def server(objs):
    (container,) = pod(objs["broker"])["containers"]
    return container


def flags(container):
    command = container["command"]
    return dict(zip(command[1::2], command[2::2], strict=True))


def test_the_in_cluster_broker_never_evicts_and_persists_by_default():
    container = server(objects(broker={}))
    assert container["command"][0] == "valkey-server" and "valkey" in container["image"]
    f = flags(container)
    assert f["--maxmemory-policy"] == "noeviction"
    assert f["--appendonly"] == "yes"
    # 3/4 of the 256Mi default limit, in bytes.
    assert f["--maxmemory"] == str(256 * 2**20 * 3 // 4)
    assert f["--aclfile"] == "/run/secrets/broker/broker-users.acl"


def test_maxmemory_follows_the_memory_limit_and_persistence_can_be_switched_off():
    f = flags(
        server(objects(broker={"resources": {"limits": {"memory": "1Gi"}}, "persistence": False}))
    )
    assert f["--maxmemory"] == str(2**30 * 3 // 4) and f["--appendonly"] == "no"


def test_the_broker_runs_restricted_with_a_read_only_root_and_its_password_only_as_a_file():
    objs = objects(broker={})
    container = server(objs)
    context = container["securityContext"]
    assert (
        context["readOnlyRootFilesystem"]
        and context["runAsNonRoot"]
        and context["runAsUser"] >= 10000
    )
    assert not any("PASS" in e["name"] for e in container.get("env", []))
    (acl,) = [v for v in pod(objs["broker"])["volumes"] if v["name"] == "acl"]
    assert acl["secret"]["items"] == [{"key": "broker-users.acl", "path": "broker-users.acl"}]
    assert objs["credentials"]["stringData"]["broker-users.acl"] == "[broker_acl]"


def test_the_broker_keeps_its_data_claim_when_deleted_or_scaled_down():
    spec = objects(broker={"storage_size": "5Gi", "storage_class": "gp3"})["broker"]["spec"]
    assert spec["persistentVolumeClaimRetentionPolicy"] == {
        "whenDeleted": "Retain",
        "whenScaled": "Retain",
    }
    (claim,) = spec["volumeClaimTemplates"]
    assert (
        claim["spec"]["resources"]["requests"]["storage"] == "5Gi"
        and claim["spec"]["storageClassName"] == "gp3"
    )


def test_only_this_apps_pods_reach_the_broker_and_it_reaches_nothing():
    objs = objects(broker={}, processes=[WORKER], migrations="job")
    policy = objs["netpol-broker"]["spec"]
    assert policy["policyTypes"] == ["Ingress", "Egress"] and "egress" not in policy
    components = {
        p["podSelector"]["matchLabels"]["app.kubernetes.io/component"]
        for p in policy["ingress"][0]["from"]
    }
    assert components == {"web", "migrate", "process", "run"}
    assert all(
        p["podSelector"]["matchLabels"]["app.kubernetes.io/instance"] == "shop"
        for p in policy["ingress"][0]["from"]
    )
    for role in ("netpol-web", "netpol-processes"):
        rule = [
            r
            for r in objs[role]["spec"]["egress"]
            if {"port": 6379, "protocol": "TCP"} in r.get("ports", [])
        ]
        assert rule and rule[0]["to"] == [
            {"podSelector": {"matchLabels": policy["podSelector"]["matchLabels"]}}
        ]


def test_an_external_broker_gets_egress_to_its_port_and_no_server_in_the_cluster():
    objs = objects(broker={"url": ELASTICACHE}, processes=[WORKER])
    assert "broker" not in objs and "netpol-broker" not in objs
    assert any(
        {"port": 6380, "protocol": "TCP"} in r.get("ports", []) and "to" not in r
        for r in objs["netpol-web"]["spec"]["egress"]
    )


def test_the_app_reads_the_broker_url_from_a_file_never_from_env():
    for base in (MINIMAL, KUBERNETES_ONLY):
        objs = objects(base, broker={}, processes=[WORKER])
        for role in ("deployment", "process-worker"):
            container = next(c for c in pod(objs[role])["containers"])
            env = {e["name"]: e.get("value") for e in container["env"]}
            assert env["BROKER_URL_FILE"] == "/run/secrets/app/broker-url"
            assert not any("redis://" in str(v) for v in env.values())


def test_with_secrets_manager_fetch_secrets_also_fetches_the_broker_url():
    objs = objects(broker={}, processes=[WORKER])
    fetch = next(
        c for c in pod(objs["process-worker"])["initContainers"] if c["name"] == "fetch-secrets"
    )
    env = {e["name"]: e["value"] for e in fetch["env"]}
    assert env["BROKER_URL_SECRET_ID"].endswith(":secret:broker-AbCdEf")
    assert "broker-url" not in objs["credentials"]["stringData"], (
        "Secrets Manager holds it, not the cluster"
    )


def test_with_kubernetes_secrets_the_url_is_a_key_of_the_credentials_secret():
    objs = objects(KUBERNETES_ONLY, broker={})
    assert objs["credentials"]["stringData"]["broker-url"] == "[broker_url]"
    (secrets,) = [v for v in pod(objs["deployment"])["volumes"] if v["name"] == "secrets"]
    assert {"key": "broker-url", "path": "broker-url"} in secrets["secret"]["items"]


def test_urls_carry_the_generated_password_and_the_server_its_acl():
    in_cluster = normalise("shop", {**MINIMAL, "broker": {}}).broker
    assert (
        broker.url(in_cluster, "shop", "shop", "pw")
        == "redis://:pw@shop-broker.shop.svc.cluster.local:6379/0"
    )
    external = normalise("shop", {**MINIMAL, "broker": {"url": ELASTICACHE}}).broker
    assert (
        broker.url(external, "shop", "shop", "pw")
        == "rediss://:pw@master.shop.abc123.euw3.cache.amazonaws.com:6380/1"
    )
    assert broker.acl_file("pw") == "user default on >pw ~* &* +@all\n"


def test_the_broker_password_is_generated_kept_secret_and_protected_with_the_data():
    run = run_program(
        lambda: DjangoApp("shop", {**MINIMAL, "broker": {}, "protect_data": True}).broker_host
    )
    assert run.result == "shop-broker.shop.svc.cluster.local"
    password = run.one("randomPassword:RandomPassword", "shop-secrets-broker-password")
    assert password.protect
    statefulset = run.one("apps/v1:StatefulSet", "shop-broker")
    assert statefulset.protect and statefulset.retain_on_delete
    assert "spec.volumeClaimTemplates" in statefulset.ignore_changes
    secret = run.one(
        "aws:secretsmanager/secretVersion:SecretVersion", "shop-secrets-broker-url-version"
    )
    assert is_secret(secret.raw_inputs["secretString"])
    # The ACL (with the password) reaches the cluster only inside a Pulumi secret.
    assert is_secret(run.one("core/v1:Secret").raw_inputs["stringData"])


@pytest.mark.parametrize(
    "value, field",
    [
        ({"url": "rediss://:hunter2@cache.example.com:6379/0"}, "broker.url"),
        ({"url": "https://cache.example.com"}, "broker.url"),
        ({"url": "redis://cache.example.com:6379/42"}, "broker.url"),
        ({"provider": "external"}, "broker.url"),
        (
            {"provider": "external", "url": ELASTICACHE, "storage_size": "1Gi"},
            "broker.storage_size",
        ),
        ({"provider": "in-cluster", "url": ELASTICACHE}, "broker.url"),
        ({"provider": "elasticache"}, "broker.provider"),
        ({"storage_size": "1.5"}, "broker.storage_size"),
        ({"image": "valkey"}, "broker.image"),
        ({"persistence": "yes"}, "broker.persistence"),
        ({"password": "x"}, "broker.password"),
    ],
)
def test_a_broker_cannot_be_what_would_not_start_or_would_leak_its_password(value, field):
    problems = refused(broker=value)
    assert field in problems, problems


def test_a_password_in_a_broker_url_is_never_printed_in_the_error():
    problems = refused(broker={"url": "rediss://:hunter2@cache.example.com:6379/0"})
    assert "hunter2" not in str(problems["broker.url"])


def test_a_broker_cannot_set_a_secret_url_through_env():
    problems = refused(env={"CELERY_BROKER_URL": "redis://cache:6379/0"})
    assert "env.CELERY_BROKER_URL" in problems or any("CELERY_BROKER_URL" in f for f in problems)


def test_the_broker_claim_grows_in_place_after_its_statefulset():
    run = run_program(
        lambda: (
            DjangoApp(
                "shop", {**MINIMAL, "broker": {"storage_size": "4Gi", "storage_class": "gp3"}}
            ).broker_host
        )
    )
    claim = run.one("PersistentVolumeClaimPatch", "shop-broker-data")
    assert claim.inputs["metadata"]["name"] == "data-shop-broker-0"
    assert claim.inputs["metadata"]["annotations"]["pulumi.com/patchForce"] == "true"
    # #29: the class is the template's alone (a bound claim's class cannot change).
    assert claim.inputs["spec"] == {"resources": {"requests": {"storage": "4Gi"}}}
    assert run.one("apps/v1:StatefulSet", "shop-broker").urn in claim.dependencies

"""Django's cache: an in-cluster Valkey of its own that evicts and keeps nothing, or an external
server; never the broker's. Run for real in tests/contract/test_contract_django.py."""

import dataclasses

import pytest
from conftest import KUBERNETES_ONLY, MINIMAL, REFS
from harness import is_secret, run_program

from pulumi_djangoapp import DjangoApp
from pulumi_djangoapp.builders import cache, manifests, network_policies
from pulumi_djangoapp.settings import normalise
from pulumi_djangoapp.settings.checks import ValidationError

ELASTICACHE = "rediss://master.shop-cache.abc123.euw3.cache.amazonaws.com:6380/0"
PLACEHOLDERS = {k: f"[{k}]" for k in (*manifests.SECRET_VALUES, *manifests.FEATURE_SECRET_VALUES)}
SECRET_IDS = {
    **REFS.secret_ids,
    "broker-url": "arn:aws:secretsmanager:eu-west-3:123456789012:secret:broker-AbCdEf",
    "cache-url": "arn:aws:secretsmanager:eu-west-3:123456789012:secret:cache-AbCdEf",
}


def objects(base=MINIMAL, **args):
    s = normalise("shop", {**base, **args})
    refs = dataclasses.replace(REFS, secret_ids=SECRET_IDS) if s.uses_aws else None
    return dict(manifests.kubernetes_objects(s, PLACEHOLDERS, refs))


def pod(workload):
    return workload["spec"]["template"]["spec"]


def flags(container):
    command = container["command"]
    return dict(zip(command[1::2], command[2::2], strict=True))


def refused(**args):
    with pytest.raises(ValidationError) as error:
        normalise("shop", {**MINIMAL, **args})
    return {p.field: p for p in error.value.problems}


def test_the_in_cluster_cache_evicts_the_least_recently_used_and_keeps_nothing():
    objs = objects(cache={})
    workload = objs["cache"]
    assert workload["kind"] == "Deployment" and "volumeClaimTemplates" not in workload["spec"]
    assert workload["spec"]["strategy"] == {"type": "Recreate"}
    (server,) = pod(workload)["containers"]
    f = flags(server)
    assert server["command"][0] == "valkey-server"
    assert f["--maxmemory-policy"] == "allkeys-lru"
    assert f["--appendonly"] == "no" and f["--save"] == ""
    assert f["--maxmemory"] == str(256 * 2**20 * 4 // 5)
    (data,) = [v for v in pod(workload)["volumes"] if v["name"] == "data"]
    assert data["emptyDir"]["medium"] == "Memory"


def test_the_broker_cannot_evict_while_the_cache_beside_it_does():
    objs = objects(cache={}, broker={})
    (broker_server,) = pod(objs["broker"])["containers"]
    (cache_server,) = pod(objs["cache"])["containers"]
    assert flags(broker_server)["--maxmemory-policy"] == "noeviction"
    assert flags(cache_server)["--maxmemory-policy"] == "allkeys-lru"
    assert objs["broker-service"]["metadata"]["name"] != objs["cache-service"]["metadata"]["name"]


def test_the_cache_runs_restricted_with_its_own_password_file():
    objs = objects(KUBERNETES_ONLY, cache={}, broker={})
    (server,) = pod(objs["cache"])["containers"]
    context = server["securityContext"]
    assert context["readOnlyRootFilesystem"] and context["runAsNonRoot"]
    assert context["runAsUser"] >= 10000
    assert flags(server)["--aclfile"] == "/run/secrets/cache/cache-users.acl"
    (acl,) = [v for v in pod(objs["cache"])["volumes"] if v["name"] == "acl"]
    assert acl["secret"]["items"] == [{"key": "cache-users.acl", "path": "cache-users.acl"}]
    data = objs["credentials"]["stringData"]
    assert data["cache-users.acl"] == "[cache_acl]" and data["broker-users.acl"] == "[broker_acl]"
    assert data["cache-url"] == "[cache_url]"


def test_only_the_apps_pods_can_reach_the_cache():
    objs = objects(
        cache={}, schedules=[{"name": "x", "schedule": "0 3 * * *", "command": ["true"]}]
    )
    policy = objs["netpol-cache"]["spec"]
    assert policy["policyTypes"] == ["Ingress", "Egress"] and "egress" not in policy
    (rule,) = policy["ingress"]
    components = {
        p["podSelector"]["matchLabels"]["app.kubernetes.io/component"] for p in rule["from"]
    }
    assert components == {"web", "schedule", "run"}
    assert rule["ports"] == [{"port": 6379, "protocol": "TCP"}]
    to_cache = [
        r for r in objs["netpol-web"]["spec"]["egress"]
        if r.get("to") and r["to"][0]["podSelector"]["matchLabels"].get("app.kubernetes.io/component") == "cache"
    ]  # fmt: skip
    assert to_cache and to_cache[0]["ports"] == [{"port": 6379, "protocol": "TCP"}]


def test_backup_pods_cannot_reach_the_cache():
    s = normalise("shop", {**MINIMAL, "cache": {}})
    egress = network_policies.backup_policy(s, REFS)["spec"]["egress"]
    assert not any({"port": 6379, "protocol": "TCP"} in r.get("ports", []) for r in egress)


def test_the_app_reads_the_cache_url_from_a_file_never_from_env():
    for base in (MINIMAL, KUBERNETES_ONLY):
        objs = objects(base, cache={})
        env = {e["name"]: e.get("value") for e in pod(objs["deployment"])["containers"][0]["env"]}
        assert env["CACHE_URL_FILE"] == "/run/secrets/app/cache-url"
        assert not any("redis://" in str(v) for v in env.values())
    fetch = next(
        c
        for c in pod(objects(cache={})["deployment"])["initContainers"]
        if c["name"] == "fetch-secrets"
    )
    assert {"name": "CACHE_URL_SECRET_ID", "value": SECRET_IDS["cache-url"]} in fetch["env"]


def test_an_app_without_a_cache_has_no_cache_file_server_or_egress():
    objs = objects(broker={})
    assert "cache" not in objs and "netpol-cache" not in objs
    env = {e["name"] for e in pod(objs["deployment"])["containers"][0]["env"]}
    assert "CACHE_URL_FILE" not in env


def test_urls_name_the_cache_service_or_the_external_server_with_the_generated_password():
    in_cluster = normalise("shop", {**MINIMAL, "cache": {}}).cache
    assert (
        cache.url(in_cluster, "shop", "shop", "pw")
        == "redis://:pw@shop-cache.shop.svc.cluster.local:6379/0"
    )
    external = normalise("shop", {**MINIMAL, "cache": {"url": ELASTICACHE}}).cache
    assert cache.url(external, "shop", "shop", "pw") == (
        "rediss://:pw@master.shop-cache.abc123.euw3.cache.amazonaws.com:6380/0"
    )


def test_an_external_cache_gets_egress_to_its_port_and_no_server_in_the_cluster():
    objs = objects(cache={"url": ELASTICACHE})
    assert "cache" not in objs and "netpol-cache" not in objs
    assert any(
        r.get("ports") == [{"port": 6380, "protocol": "TCP"}] and "to" not in r
        for r in objs["netpol-web"]["spec"]["egress"]
    )


def test_the_cache_password_is_generated_kept_secret_and_only_its_host_is_an_output():
    run = run_program(lambda: DjangoApp("shop", {**MINIMAL, "cache": {}, "broker": {}}).cache_host)
    assert run.result == "shop-cache.shop.svc.cluster.local"
    cache_password = run.one("randomPassword:RandomPassword", "shop-secrets-cache-password")
    broker_password = run.one("randomPassword:RandomPassword", "shop-secrets-broker-password")
    assert cache_password.inputs["length"] == broker_password.inputs["length"] == 32
    version = run.one(
        "aws:secretsmanager/secretVersion:SecretVersion", "shop-secrets-cache-url-version"
    )
    assert is_secret(version.raw_inputs["secretString"])
    assert is_secret(run.one("core/v1:Secret").raw_inputs["stringData"])


@pytest.mark.parametrize(
    "value, field",
    [
        ({"url": "rediss://:hunter2@cache.example.com:6379/0"}, "cache.url"),
        ({"url": "memcached://cache.example.com:11211"}, "cache.url"),
        ({"provider": "external"}, "cache.url"),
        ({"provider": "external", "url": ELASTICACHE, "image": "a/b:1"}, "cache.image"),
        ({"provider": "in-cluster", "url": ELASTICACHE}, "cache.url"),
        ({"provider": "memory"}, "cache.provider"),
        ({"resources": {"limits": {"memory": "lots"}}}, "cache.resources.limits.memory"),
        ({"persistence": True}, "cache.persistence"),
    ],
)
def test_a_cache_cannot_be_what_would_not_start_keep_data_or_leak_its_password(value, field):
    problems = refused(cache=value)
    assert field in problems, problems
    assert "hunter2" not in str(problems)


def test_a_cache_cannot_share_the_brokers_server_even_on_another_database():
    broker_url = "rediss://master.shop.abc123.euw3.cache.amazonaws.com:6380/0"
    problems = refused(
        broker={"url": broker_url},
        cache={"url": "rediss://MASTER.shop.abc123.euw3.cache.amazonaws.com:6380/1"},
    )
    assert "maxmemory-policy is one per server" in problems["cache.url"].allowed


def test_a_cache_can_be_another_server_beside_an_external_broker():
    s = normalise(
        "shop",
        {
            **MINIMAL,
            "broker": {"url": "rediss://queue.example.com:6380/0"},
            "cache": {"url": ELASTICACHE},
        },
    )
    assert s.cache.url == ELASTICACHE and s.broker.url != s.cache.url

import pytest
from conftest import KUBERNETES_ONLY, MINIMAL, OIDC, POD_IDENTITY, REFS
from harness import MOCK_REGION, run_program

from pulumi_djangoapp import DjangoApp
from pulumi_djangoapp.builders import app as app_pod
from pulumi_djangoapp.builders import fetch
from pulumi_djangoapp.settings import normalise

CREDENTIAL_ENV = {
    "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
}  # fmt: skip
SIDECAR = {
    "name": "log-shipper",
    "image": "fluent/fluent-bit:3.2.4",
    "volume_mounts": {"logs": "/l", "config": "/c"},
}


def pod(**args):
    s = normalise("shop", {**MINIMAL, **OIDC, **args})
    return s, app_pod.pod_spec(s, REFS)


def by_name(spec):
    return {c["name"]: c for c in [*spec["initContainers"], *spec["containers"]]}


def env_of(container):
    return {e["name"]: e.get("value") for e in container.get("env", [])}


def test_fetch_steps_run_after_sidecars_and_before_wait_for_db():
    _, spec = pod(sidecars=[SIDECAR])
    names = [c["name"] for c in spec["initContainers"]]
    assert names == ["log-shipper", "fetch-config", "fetch-secrets", "wait-for-db", "migrate"]


def test_fetch_config_syncs_the_app_prefix_into_the_config_volume():
    s, spec = pod()
    container = by_name(spec)["fetch-config"]
    assert container["command"][:5] == [
        "aws",
        "s3",
        "sync",
        "s3://$(CONFIG_BUCKET)/$(CONFIG_PREFIX)/",
        "$(CONFIG_DIR)",
    ]
    assert "--delete" in container["command"]
    env = env_of(container)
    assert (env["CONFIG_BUCKET"], env["CONFIG_PREFIX"], env["CONFIG_DIR"]) == (
        REFS.bucket,
        "shop/shop",
        "/app/config",
    )
    config = next(m for m in container["volumeMounts"] if m["name"] == "config")
    assert not config.get("readOnly")


def test_config_volume_is_read_only_everywhere_but_fetch_config():
    _, spec = pod(sidecars=[SIDECAR])
    for name, container in by_name(spec).items():
        for mount in container.get("volumeMounts", []):
            if mount["name"] == "config" and name != "fetch-config":
                assert mount["readOnly"] is True, name


def test_fetch_secrets_writes_each_secret_to_its_own_0400_file_in_memory():
    s, spec = pod()
    container = by_name(spec)["fetch-secrets"]
    env = env_of(container)
    assert env["SECRETS_DIR"] == "/run/secrets/app"
    ids = {
        "database.json": "DATABASE_SECRET_ID",
        "database-url": "DATABASE_URL_SECRET_ID",
        "secret-key": "SECRET_KEY_SECRET_ID",
    }
    assert {f: env[name] for f, name in ids.items()} == REFS.secret_ids
    # The broker's file is fetched only when the app has a broker.
    assert "BROKER_URL_SECRET_ID" not in env
    script = container["command"][-1]
    assert "chmod 0400" in script and "mv -f" in script
    for file_name, name in ids.items():
        assert f'fetch "${name}" {file_name}\n' in script
    volume = next(v for v in spec["volumes"] if v["name"] == "secrets")
    assert volume["emptyDir"]["medium"] == "Memory"


def test_only_the_fetch_steps_hold_aws_credentials():
    _, spec = pod(sidecars=[SIDECAR], aws_endpoint_url="http://localstack:4566")
    for name, container in by_name(spec).items():
        env = set(env_of(container))
        mounts = {m["name"] for m in container.get("volumeMounts", [])}
        if name in ("fetch-config", "fetch-secrets"):
            assert {
                "AWS_ROLE_ARN",
                "AWS_WEB_IDENTITY_TOKEN_FILE",
                "AWS_REGION",
                "AWS_ENDPOINT_URL",
            } <= env
            assert fetch.TOKEN_VOLUME in mounts and fetch.HOME_VOLUME in mounts
        else:
            assert not env & CREDENTIAL_ENV, name
            assert fetch.TOKEN_VOLUME not in mounts and fetch.HOME_VOLUME not in mounts, name


def test_cli_credential_cache_is_not_on_the_shared_tmp():
    _, spec = pod()
    container = by_name(spec)["fetch-secrets"]
    assert env_of(container)["HOME"] == fetch.HOME_DIR
    assert not any(m["mountPath"] == "/tmp" for m in container["volumeMounts"])


def test_token_is_projected_for_the_sts_audience_and_nothing_is_automounted():
    _, spec = pod()
    volume = next(v for v in spec["volumes"] if v["name"] == fetch.TOKEN_VOLUME)
    (source,) = volume["projected"]["sources"]
    assert source["serviceAccountToken"]["audience"] == "sts.amazonaws.com"
    assert spec["automountServiceAccountToken"] is False


def test_with_pod_identity_no_token_of_ours_is_mounted_anywhere():
    s = normalise("shop", POD_IDENTITY)
    spec = app_pod.pod_spec(s, REFS)
    assert fetch.TOKEN_VOLUME not in {v["name"] for v in spec["volumes"]}
    assert "AWS_ROLE_ARN" not in env_of(by_name(spec)["fetch-config"])
    assert all(
        m["name"] != fetch.TOKEN_VOLUME
        for c in by_name(spec).values()
        for m in c.get("volumeMounts", [])
    )


def test_kubernetes_backend_has_no_fetch_steps_and_a_config_map():
    s = normalise("shop", {**KUBERNETES_ONLY, "config_files": {"sub/a.json": "{}"}})
    spec = app_pod.pod_spec(s)
    assert "fetch-config" not in by_name(spec)
    config = next(v for v in spec["volumes"] if v["name"] == "config")
    assert config["configMap"]["items"] == [{"key": "sub__a.json", "path": "sub/a.json"}]


def test_aws_backend_cannot_be_built_without_aws_refs():
    with pytest.raises(ValueError):
        app_pod.pod_spec(normalise("shop", MINIMAL))


def test_service_account_carries_no_irsa_annotation():
    run = run_program(lambda: DjangoApp("shop", {**MINIMAL, **OIDC}).namespace)
    sa = run.one("ServiceAccount", "shop-service-account")
    assert "annotations" not in sa.inputs["metadata"]


def test_region_defaults_to_the_provider_region_and_can_be_set():
    def region(**args):
        run = run_program(lambda: DjangoApp("shop", {**MINIMAL, **args}).namespace)
        init = run.one("Deployment").inputs["spec"]["template"]["spec"]["initContainers"]
        return env_of(init[0])["AWS_REGION"]

    assert region() == MOCK_REGION
    assert region(aws_region="us-east-2") == "us-east-2"


def test_endpoint_port_is_opened_for_the_fetch_steps():
    from pulumi_djangoapp.builders import network_policies

    s = normalise("shop", {**MINIMAL, "aws_endpoint_url": "http://localstack:4566"})
    web = network_policies.web_policy(s)
    ports = [p["port"] for rule in web["spec"]["egress"] for p in rule.get("ports", [])]
    assert 4566 in ports and 443 in ports


# --- The fetch steps, whole -------------------------------------------------------------------

from pulumi_djangoapp.builders.security import container_security_context  # noqa: E402

FETCH_RESOURCES = {
    "requests": {"cpu": "50m", "memory": "96Mi"},
    "limits": {"cpu": "500m", "memory": "256Mi"},
}
WEB_IDENTITY_ENV = [
    {"name": "AWS_REGION", "value": "eu-west-3"},
    {"name": "AWS_DEFAULT_REGION", "value": "eu-west-3"},
    {"name": "AWS_STS_REGIONAL_ENDPOINTS", "value": "regional"},
    {"name": "AWS_PAGER", "value": ""},
    {"name": "HOME", "value": "/home/fetch"},
    {"name": "AWS_ROLE_ARN", "value": REFS.role_arn},
    {
        "name": "AWS_WEB_IDENTITY_TOKEN_FILE",
        "value": "/var/run/secrets/eks.amazonaws.com/serviceaccount/token",
    },
    {"name": "AWS_ROLE_SESSION_NAME", "value": "shop-fetch"},
]
CLI_MOUNTS = [
    {"name": "aws-home", "mountPath": "/home/fetch"},
    {
        "name": "aws-token",
        "mountPath": "/var/run/secrets/eks.amazonaws.com/serviceaccount",
        "readOnly": True,
    },
]


def test_fetch_config_is_exactly_an_s3_sync_of_the_prefix_with_the_fetch_role():
    _, spec = pod()
    assert by_name(spec)["fetch-config"] == {
        "name": "fetch-config",
        "image": "public.ecr.aws/aws-cli/aws-cli:2.31.0",
        "imagePullPolicy": "Always",
        "command": [
            "aws",
            "s3",
            "sync",
            "s3://$(CONFIG_BUCKET)/$(CONFIG_PREFIX)/",
            "$(CONFIG_DIR)",
            "--delete",
            "--no-progress",
            "--only-show-errors",
        ],
        "env": [
            {"name": "CONFIG_BUCKET", "value": REFS.bucket},
            {"name": "CONFIG_PREFIX", "value": "shop/shop"},
            {"name": "CONFIG_DIR", "value": "/app/config"},
            *WEB_IDENTITY_ENV,
        ],
        "volumeMounts": [{"name": "config", "mountPath": "/app/config"}, *CLI_MOUNTS],
        "resources": FETCH_RESOURCES,
        "securityContext": container_security_context(10001),
    }


def test_fetch_secrets_is_exactly_the_script_with_one_secret_id_per_file():
    import dataclasses

    arns = {**REFS.secret_ids, "broker-url": "arn:broker"}
    s = normalise("shop", {**MINIMAL, **OIDC, "broker": {}})
    container = fetch.fetch_secrets_container(s, dataclasses.replace(REFS, secret_ids=arns))
    assert container == {
        "name": "fetch-secrets",
        "image": "public.ecr.aws/aws-cli/aws-cli:2.31.0",
        "imagePullPolicy": "Always",
        "command": ["sh", "-c", fetch.FETCH_SECRETS_SCRIPT],
        "env": [
            {"name": "SECRETS_DIR", "value": "/run/secrets/app"},
            {"name": "DATABASE_SECRET_ID", "value": arns["database.json"]},
            {"name": "DATABASE_URL_SECRET_ID", "value": arns["database-url"]},
            {"name": "SECRET_KEY_SECRET_ID", "value": arns["secret-key"]},
            {"name": "BROKER_URL_SECRET_ID", "value": "arn:broker"},
            *WEB_IDENTITY_ENV,
        ],
        "volumeMounts": [{"name": "secrets", "mountPath": "/run/secrets/app"}, *CLI_MOUNTS],
        "resources": FETCH_RESOURCES,
        "securityContext": container_security_context(10001),
    }


def test_every_file_the_app_is_pointed_at_is_one_the_fetch_script_writes():
    s = normalise("shop", {**MINIMAL, **OIDC, "broker": {}})
    env = {e["name"]: e.get("value") for e in app_pod.app_env(s)}
    script = fetch.FETCH_SECRETS_SCRIPT
    for variable, secret_env in (
        ("DATABASE_URL_FILE", "DATABASE_URL_SECRET_ID"), ("DATABASE_CREDENTIALS_FILE", "DATABASE_SECRET_ID"),
        ("SECRET_KEY_FILE", "SECRET_KEY_SECRET_ID"), ("BROKER_URL_FILE", "BROKER_URL_SECRET_ID"),
    ):  # fmt: skip
        directory, _, file_name = env[variable].rpartition("/")
        assert directory == "/run/secrets/app", variable
        assert f'fetch "${secret_env}" {file_name}\n' in script, variable


def test_with_pod_identity_the_webhook_skips_exactly_the_steps_that_are_not_fetch_steps():
    s = normalise("shop", {**POD_IDENTITY, "sidecars": [{"name": "log-shipper", "image": "a/b:1"}]})
    deployment = app_pod.deployment(s, REFS)
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert (
        annotations["eks.amazonaws.com/skip-containers"] == "log-shipper,wait-for-db,migrate,django"
    )
    assert (
        fetch.credential_annotations(
            normalise("shop", MINIMAL), deployment["spec"]["template"]["spec"]
        )
        == {}
    )

import json

import pytest

from pulumi_djangoapp import app_pod
from pulumi_djangoapp.effective_resources import effective_pod_resources, format_resources
from pulumi_djangoapp.settings import normalise
from conftest import KUBERNETES_ONLY, MINIMAL, REFS

LOG_SHIPPER = {"name": "log-shipper", "image": "fluent/fluent-bit:3.2.4", "volume_mounts": {"logs": "/logs"}}


def spec(**args):
    base = KUBERNETES_ONLY if args.get("secrets_backend") == "kubernetes" else MINIMAL
    s = normalise("shop", {**base, **args})
    return app_pod.pod_spec(s, REFS if s.uses_aws else None)


def names(containers):
    return [c["name"] for c in containers]


def all_containers(pod):
    return [*pod["initContainers"], *pod["containers"]]


def test_sidecar_starts_before_wait_for_db_and_migrations():
    pod = spec(sidecars=[LOG_SHIPPER])
    assert names(pod["initContainers"]) == ["log-shipper", "fetch-config", "fetch-secrets", "wait-for-db", "migrate"]
    assert pod["initContainers"][0]["restartPolicy"] == "Always"


def test_regular_init_steps_and_app_containers_never_set_restart_policy():
    pod = spec(sidecars=[LOG_SHIPPER])
    for container in [*pod["initContainers"][1:], *pod["containers"]]:
        assert "restartPolicy" not in container


def test_sidecars_are_always_native_init_containers_and_never_app_containers():
    pod = spec(sidecars=[LOG_SHIPPER], kubernetes_version="1.37", secrets_backend="kubernetes")
    assert names(pod["initContainers"]) == ["log-shipper", "wait-for-db", "migrate"]
    assert names(pod["containers"]) == ["django"]
    assert pod["initContainers"][0]["restartPolicy"] == "Always"


def test_migrate_runs_the_app_image_after_wait_for_db():
    pod = spec()
    wait, migrate = pod["initContainers"][-2:]
    assert migrate["image"] == MINIMAL["image"]
    assert migrate["command"][:3] == ["python", "manage.py", "shell"]
    assert "pg_try_advisory_lock" in migrate["command"][-1]
    assert wait["image"].startswith("public.ecr.aws/docker/library/postgres:")


def test_wait_for_db_is_bounded_and_says_why_it_fails():
    wait = spec(db_wait_timeout_seconds=30)["initContainers"][-2]
    env = {e["name"]: e.get("value") for e in wait["env"]}
    assert env["DB_WAIT_TIMEOUT"] == "30"
    assert env["DB_HOST"] == "shop-postgres.shop.svc.cluster.local"
    script = wait["command"][-1]
    assert "pg_isready" in script and "deadline" in script and "exit 1" in script
    assert "did not accept connections" in script


@pytest.mark.parametrize("args", [{}, {"sidecars": [LOG_SHIPPER]}, {"kubernetes_version": "1.37", "sidecars": [LOG_SHIPPER]}])
def test_every_container_is_restricted_and_read_only(args):
    pod = spec(**args)
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    for container in all_containers(pod):
        sc = container["securityContext"]
        assert sc["allowPrivilegeEscalation"] is False
        assert sc["runAsNonRoot"] is True and sc["runAsUser"] >= 10000
        assert sc["capabilities"] == {"drop": ["ALL"]}
        assert sc["seccompProfile"] == {"type": "RuntimeDefault"}
        assert sc["readOnlyRootFilesystem"] is True
        assert {"cpu", "memory"} <= set(container["resources"]["requests"])
        assert {"cpu", "memory"} <= set(container["resources"]["limits"])


def test_every_container_that_writes_has_a_writable_tmp():
    pod = spec(sidecars=[LOG_SHIPPER])
    for container in all_containers(pod):
        if container["name"] in ("wait-for-db", "fetch-config", "fetch-secrets"):
            continue
        mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
        assert "/tmp" in mounts and not mounts["/tmp"].get("readOnly")


def test_service_account_token_is_not_mounted():
    assert spec()["automountServiceAccountToken"] is False


def test_database_credentials_reach_the_app_only_as_files():
    pod = spec(env={"DJANGO_DEBUG": "false"}, secrets_backend="kubernetes")
    django = pod["containers"][0]
    env = {e["name"]: e.get("value") for e in django["env"]}
    assert env["DATABASE_URL_FILE"] == "/run/secrets/app/database-url"
    assert env["SECRET_KEY_FILE"] == "/run/secrets/app/secret-key"
    assert "DATABASE_URL" not in env and "SECRET_KEY" not in env
    # The only value from elsewhere is the pod's own IP (downward API), never a Secret.
    assert [e for e in django["env"] if "valueFrom" in e] == [{"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}]
    secrets = next(v for v in pod["volumes"] if v["name"] == "secrets")
    assert secrets["secret"]["secretName"] == "shop-credentials"
    assert secrets["secret"]["defaultMode"] == 0o440
    mount = next(m for m in django["volumeMounts"] if m["name"] == "secrets")
    assert mount["readOnly"] is True


def test_config_volume_is_read_only_in_the_app_at_app_config():
    django = spec()["containers"][0]
    mount = next(m for m in django["volumeMounts"] if m["name"] == "config")
    assert mount == {"name": "config", "mountPath": "/app/config", "readOnly": True}


def test_sidecar_shared_mounts_are_read_only():
    sidecar = spec(sidecars=[LOG_SHIPPER])["initContainers"][0]
    assert {"name": "logs", "mountPath": "/logs", "readOnly": True} in sidecar["volumeMounts"]


def test_probes_send_a_host_header_django_accepts():
    django = spec(health_path="/up", probe_host="shop.internal")["containers"][0]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        get = django[probe]["httpGet"]
        assert get["path"] == "/up"
        assert get["httpHeaders"] == [{"name": "Host", "value": "shop.internal"}]


def test_pre_stop_uses_the_native_sleep_action_that_needs_no_binary_in_the_image():
    assert spec()["containers"][0]["lifecycle"]["preStop"] == {"sleep": {"seconds": 5}}


ALB = {"hosts": ["shop.example.com"], "ingress_cidrs": ["10.0.0.0/16"]}


@pytest.mark.parametrize("ingress", [None, ALB, {**ALB, "deregistration_delay_seconds": 120}])
def test_graceful_shutdown_fits_in_the_grace_period(ingress):
    s = normalise("shop", {**MINIMAL, **({"ingress": ingress} if ingress else {})})
    pod = app_pod.pod_spec(s, REFS)
    graceful = int(s.command[s.command.index("--graceful-timeout") + 1])
    pre_stop = pod["containers"][0]["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert pre_stop + graceful < pod["terminationGracePeriodSeconds"]
    if ingress:
        # The ALB drains the pod for its deregistration delay: the pod keeps serving longer.
        assert pre_stop > ingress.get("deregistration_delay_seconds", 30)


def test_gunicorn_workers_are_explicit():
    django = spec(workers=3)["containers"][0]
    assert django["command"][django["command"].index("--workers") + 1] == "3"
    assert {"name": "WEB_CONCURRENCY", "value": "3"} in django["env"]


def test_custom_command_replaces_gunicorn():
    assert spec(command=["uvicorn", "config.asgi:application"])["containers"][0]["command"] == ["uvicorn", "config.asgi:application"]


def test_two_replicas_spread_across_nodes_and_one_does_not():
    assert "topologySpreadConstraints" not in spec(replicas=1)
    keys = [t["topologyKey"] for t in spec(replicas=2)["topologySpreadConstraints"]]
    assert "kubernetes.io/hostname" in keys


def test_rolling_update_never_drops_below_the_desired_count():
    strategy = app_pod.deployment(normalise("shop", MINIMAL), REFS)["spec"]["strategy"]
    assert strategy["rollingUpdate"] == {"maxUnavailable": 0, "maxSurge": 1}


def test_user_env_values_appear_verbatim_and_before_managed_ones():
    env = spec(env={"FEATURE": "on"})["containers"][0]["env"]
    assert env[0] == {"name": "FEATURE", "value": "on"}


def test_effective_resources_of_the_built_pod_count_the_sidecar_in_init_and_run():
    pod = spec(
        sidecars=[{**LOG_SHIPPER, "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}],
        secrets_backend="kubernetes",
    )
    requests, limits = effective_pod_resources(app_pod.container_resources(pod))
    # run phase: sidecar 100m + django 250m = 350m beats migrate (250m) + sidecar (100m) = 350m;
    # memory: sidecar 64Mi + django 256Mi = 320Mi.
    assert format_resources(requests) == {"cpu": "350m", "memory": "320Mi"}
    assert format_resources(limits) == {"cpu": "1200m", "memory": "640Mi"}


def test_pod_spec_is_plain_json():
    json.dumps(spec(sidecars=[LOG_SHIPPER]))

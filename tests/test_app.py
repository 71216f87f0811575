import json
from fractions import Fraction

import pytest
from conftest import KUBERNETES_ONLY, MINIMAL, REFS
from conftest import POD_IDENTITY as POD_IDENTITY_ARGS

from pulumi_djangoapp.builders import app as app_pod
from pulumi_djangoapp.builders import effective_resources, processes, schedules
from pulumi_djangoapp.builders.effective_resources import effective_pod_resources, format_resources
from pulumi_djangoapp.settings import normalise

LOG_SHIPPER = {
    "name": "log-shipper",
    "image": "fluent/fluent-bit:3.2.4",
    "volume_mounts": {"logs": "/logs"},
}


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
    assert names(pod["initContainers"]) == [
        "log-shipper",
        "fetch-config",
        "fetch-secrets",
        "wait-for-db",
        "migrate",
    ]
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


@pytest.mark.parametrize(
    "args",
    [{}, {"sidecars": [LOG_SHIPPER]}, {"kubernetes_version": "1.37", "sidecars": [LOG_SHIPPER]}],
)
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
    assert [e for e in django["env"] if "valueFrom" in e] == [
        {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}
    ]
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
    assert spec(command=["uvicorn", "config.asgi:application"])["containers"][0]["command"] == [
        "uvicorn",
        "config.asgi:application",
    ]


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
    requests, limits = effective_pod_resources(effective_resources.container_resources(pod))
    # run phase: sidecar 100m + django 250m = 350m beats migrate (250m) + sidecar (100m) = 350m;
    # memory: sidecar 64Mi + django 256Mi = 320Mi.
    assert format_resources(requests) == {"cpu": "350m", "memory": "320Mi"}
    assert format_resources(limits) == {"cpu": "1200m", "memory": "640Mi"}


def test_pod_spec_is_plain_json():
    json.dumps(spec(sidecars=[LOG_SHIPPER]))


# --- The web pod, whole: written from the design, so that any change to it is seen ----------

from pulumi_djangoapp.builders.labels import labels, selector_labels  # noqa: E402
from pulumi_djangoapp.builders.security import container_security_context, pod_security_context  # noqa: E402

WEB_LABELS = labels("shop", "web")
WEB_SELECTOR = {"matchLabels": selector_labels("shop", "web")}
RESTRICTED = container_security_context(10001)


def _probe(period, failures, timeout):
    return {
        "httpGet": {
            "path": "/healthz",
            "port": "http",
            "httpHeaders": [{"name": "Host", "value": "localhost"}],
        },
        "periodSeconds": period,
        "failureThreshold": failures,
        "timeoutSeconds": timeout,
    }


def test_the_web_deployment_rolls_one_ready_pod_at_a_time_and_spreads_over_nodes_and_zones():
    s = normalise("shop", MINIMAL)
    d = app_pod.deployment(s, REFS)
    assert (d["apiVersion"], d["kind"]) == ("apps/v1", "Deployment")
    assert d["metadata"] == {"name": "shop", "namespace": "shop", "labels": WEB_LABELS}
    assert {k: v for k, v in d["spec"].items() if k != "template"} == {
        "replicas": 2,
        "revisionHistoryLimit": 5,
        "selector": WEB_SELECTOR,
        "strategy": {
            "type": "RollingUpdate",
            "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
        },
    }
    template = d["spec"]["template"]
    # Web identity: no pod-identity skip list; the config hash rolls the pods on new content.
    assert template["metadata"] == {
        "labels": WEB_LABELS,
        "annotations": {"djangoapp.io/config-hash": s.config_hash},
    }
    pod = template["spec"]
    spread = [
        {
            "maxSkew": 1,
            "topologyKey": key,
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": WEB_SELECTOR,
        }
        for key in ("kubernetes.io/hostname", "topology.kubernetes.io/zone")
    ]
    assert {
        k: v for k, v in pod.items() if k not in ("initContainers", "containers", "volumes")
    } == {
        "serviceAccountName": "shop",
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        # preStop 5 s + gunicorn's graceful 20 s + 5 s.
        "terminationGracePeriodSeconds": 30,
        "securityContext": pod_security_context(10001),
        "topologySpreadConstraints": spread,
    }
    assert [c["name"] for c in pod["initContainers"]] == [
        "fetch-config",
        "fetch-secrets",
        "wait-for-db",
        "migrate",
    ]
    assert [c["name"] for c in pod["containers"]] == ["django"]


def test_one_replica_is_not_spread():
    assert "topologySpreadConstraints" not in app_pod.pod_spec(
        normalise("shop", {**MINIMAL, "replicas": 1}), REFS
    )


def test_the_django_container_serves_gunicorn_with_file_secrets_probes_and_a_pre_stop_pause():
    s = normalise("shop", {**MINIMAL, "env": {"FEATURE": "on"}})
    (django,) = app_pod.pod_spec(s, REFS)["containers"]
    assert django == {
        "name": "django",
        "image": "ghcr.io/acme/shop:1.4.2",
        "imagePullPolicy": "Always",
        "command": list(s.command),
        "ports": [{"name": "http", "containerPort": 8000, "protocol": "TCP"}],
        "env": [
            {"name": "FEATURE", "value": "on"},
            {"name": "DJANGO_CONFIG_DIR", "value": "/app/config"},
            {"name": "DATABASE_URL_FILE", "value": "/run/secrets/app/database-url"},
            {"name": "DATABASE_CREDENTIALS_FILE", "value": "/run/secrets/app/database.json"},
            {"name": "SECRET_KEY_FILE", "value": "/run/secrets/app/secret-key"},
            {"name": "DJANGO_LOG_DIR", "value": "/var/log/app"},
            {"name": "WEB_CONCURRENCY", "value": "2"},
            {"name": "PYTHONUNBUFFERED", "value": "1"},
            {"name": "PYTHONDONTWRITEBYTECODE", "value": "1"},
            {"name": "DJANGO_ALLOWED_HOSTS", "value": "localhost"},
            {"name": "DJANGO_HEALTH_PATH", "value": "/healthz"},
            {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
        ],
        "resources": {
            "requests": {"cpu": "250m", "memory": "256Mi"},
            "limits": {"cpu": "1", "memory": "512Mi"},
        },
        "volumeMounts": [
            {"name": "config", "mountPath": "/app/config", "readOnly": True},
            {"name": "secrets", "mountPath": "/run/secrets/app", "readOnly": True},
            {"name": "tmp", "mountPath": "/tmp"},
            {"name": "logs", "mountPath": "/var/log/app"},
        ],
        "startupProbe": _probe(2, 60, 2),
        "readinessProbe": _probe(10, 3, 2),
        "livenessProbe": _probe(20, 3, 3),
        "lifecycle": {"preStop": {"sleep": {"seconds": 5}}},
        "securityContext": RESTRICTED,
    }


def test_with_a_broker_the_app_is_told_where_its_url_file_is():
    env = {
        e["name"]: e.get("value")
        for e in app_pod.app_env(normalise("shop", {**MINIMAL, "broker": {}}))
    }
    assert env["BROKER_URL_FILE"] == "/run/secrets/app/broker-url"
    assert "BROKER_URL_FILE" not in {e["name"] for e in app_pod.app_env(normalise("shop", MINIMAL))}


def test_wait_for_db_polls_the_database_with_pg_isready_small_and_bounded():
    s = normalise("shop", {**MINIMAL, "db_wait_timeout_seconds": 90})
    wait = next(
        c for c in app_pod.pod_spec(s, REFS)["initContainers"] if c["name"] == "wait-for-db"
    )
    assert wait == {
        "name": "wait-for-db",
        "image": "public.ecr.aws/docker/library/postgres:17.6-bookworm",
        "imagePullPolicy": "Always",
        "command": ["sh", "-c", app_pod.WAIT_FOR_DB_SCRIPT],
        "env": [
            {"name": "DB_HOST", "value": "shop-postgres.shop.svc.cluster.local"},
            {"name": "DB_PORT", "value": "5432"},
            {"name": "DB_USER", "value": "shop"},
            {"name": "DB_NAME", "value": "shop"},
            {"name": "DB_WAIT_TIMEOUT", "value": "90"},
        ],
        "resources": {
            "requests": {"cpu": "10m", "memory": "16Mi"},
            "limits": {"cpu": "100m", "memory": "64Mi"},
        },
        "securityContext": RESTRICTED,
    }
    assert (
        "pg_isready" in app_pod.WAIT_FOR_DB_SCRIPT
        and "DB_WAIT_TIMEOUT" in app_pod.WAIT_FOR_DB_SCRIPT
    )


def test_an_rds_wait_step_cannot_be_built_without_the_instance_address():
    s = normalise("shop", {**MINIMAL, "database": {"provider": "rds", "rds": {
        "subnet_ids": ["subnet-0a1b2c3d", "subnet-0a1b2c3e"], "client_security_group_ids": ["sg-0a1b2c3d"]}}})  # fmt: skip
    with pytest.raises(ValueError, match="address"):
        app_pod.wait_for_db_container(s, REFS)


def test_aws_backend_volumes_keep_secrets_in_memory_and_size_every_scratch_space():
    vols = app_pod.volumes(normalise("shop", MINIMAL), REFS)
    by_name = {v["name"]: v for v in vols}
    assert [v["name"] for v in vols] == [
        "config",
        "secrets",
        "aws-home",
        "aws-token",
        "tmp",
        "logs",
    ]
    assert by_name["config"] == {"name": "config", "emptyDir": {"sizeLimit": "32Mi"}}
    assert by_name["secrets"] == {
        "name": "secrets",
        "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"},
    }
    assert by_name["tmp"] == {"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": "64Mi"}}
    assert by_name["logs"] == {"name": "logs", "emptyDir": {"sizeLimit": "256Mi"}}


def test_kubernetes_backend_volumes_project_the_config_map_and_the_secret_files_read_only():
    s = normalise(
        "shop",
        {
            **KUBERNETES_ONLY,
            "config_files": {"app.toml": "a = 1\n", "nested/b.toml": "b = 2\n"},
            "broker": {},
        },
    )
    vols = app_pod.volumes(s)
    assert [v["name"] for v in vols] == ["config", "secrets", "tmp", "logs"]
    config, secrets = vols[0], vols[1]
    assert (
        config["configMap"]["name"] == "shop-config" and config["configMap"]["defaultMode"] == 0o444
    )
    assert [i["path"] for i in config["configMap"]["items"]] == ["app.toml", "nested/b.toml"]
    assert len({i["key"] for i in config["configMap"]["items"]}) == 2
    assert secrets == {
        "name": "secrets",
        "secret": {
            "secretName": "shop-credentials",
            "defaultMode": 0o440,
            "items": [
                {"key": k, "path": k}
                for k in ("database.json", "database-url", "secret-key", "broker-url")
            ],
        },
    }
    assert "items" not in app_pod.volumes(normalise("shop", KUBERNETES_ONLY))[0]["configMap"]


def test_an_aws_app_pod_cannot_be_built_without_its_aws_references():
    with pytest.raises(ValueError, match="AwsRefs"):
        app_pod.pod_spec(normalise("shop", MINIMAL))


def test_a_sidecar_is_native_restricted_and_mounts_shared_volumes_read_only_with_its_own_tmp():
    s = normalise("shop", {**MINIMAL, "sidecars": [{
        "name": "log-shipper", "image": "cr.fluentbit.io/fluent/fluent-bit:3.2.4", "command": ["fluent-bit"],
        "args": ["-i", "tail"], "env": {"LEVEL": "info"}, "ports": [2020],
        "startup_probe": {"tcpSocket": {"port": 2020}, "periodSeconds": 1, "failureThreshold": 30},
        "volume_mounts": {"logs": "/var/log/app"},
    }]})  # fmt: skip
    pod = app_pod.pod_spec(s, REFS)
    assert pod["initContainers"][0] == {
        "name": "log-shipper",
        "image": "cr.fluentbit.io/fluent/fluent-bit:3.2.4",
        "imagePullPolicy": "Always",
        "restartPolicy": "Always",
        "command": ["fluent-bit"],
        "args": ["-i", "tail"],
        "env": [{"name": "LEVEL", "value": "info"}],
        "ports": [{"containerPort": 2020, "protocol": "TCP"}],
        "startupProbe": {"tcpSocket": {"port": 2020}, "periodSeconds": 1, "failureThreshold": 30},
        "volumeMounts": [
            {"name": "logs", "mountPath": "/var/log/app", "readOnly": True},
            {"name": "tmp-log-shipper", "mountPath": "/tmp"},
        ],
        "resources": {
            "requests": {"cpu": "50m", "memory": "64Mi"},
            "limits": {"cpu": "200m", "memory": "128Mi"},
        },
        "securityContext": RESTRICTED,
    }
    assert pod["volumes"][-1] == {
        "name": "tmp-log-shipper",
        "emptyDir": {"medium": "Memory", "sizeLimit": "32Mi"},
    }
    bare = app_pod.sidecar_container(
        s, normalise("shop", {**MINIMAL, "sidecars": [{"name": "x", "image": "a/b:1"}]}).sidecars[0]
    )
    assert not {"command", "args", "env", "ports", "startupProbe"} & set(bare)


def test_the_migration_step_follows_the_mode():
    for mode, gate, names in (
        ("init-container", True, ["migrate"]),
        ("job", True, ["wait-for-migrations"]),
        # Nothing migrates: the deploy check still gates the web pod, unless it is off.
        ("none", True, ["deploy-check"]),
        ("none", False, []),
    ):
        s = normalise("shop", {**MINIMAL, "migrations": mode, "deploy_check": {"enabled": gate}})
        assert [c["name"] for c in app_pod.migration_step(s)] == names, mode


def test_container_resources_reads_roles_and_quantities_in_pod_order():
    spec = {
        "initContainers": [
            {
                "name": "sidecar",
                "restartPolicy": "Always",
                "resources": {"requests": {"cpu": "50m"}},
            },
            {"name": "step", "resources": {"limits": {"memory": "1Gi"}}},
        ],
        "containers": [{"name": "app"}],
    }
    found = effective_resources.container_resources(spec)
    assert [(c.name, c.role) for c in found] == [
        ("sidecar", "sidecar"),
        ("step", "init"),
        ("app", "app"),
    ]
    assert found[0].requests == {"cpu": Fraction(1, 20)} and found[0].limits == {}
    assert (
        found[1].limits == {"memory": 2**30} and found[2].requests == {} and found[2].limits == {}
    )


# --- Command pods (schedules, processes): the web pod's preparation, one command, no spread ---

SCHEDULE = {"name": "report", "schedule": "@daily", "command": ["python", "manage.py", "report"]}
WORKER = {"name": "worker", "command": ["celery", "-A", "project", "worker"], "replicas": 2}


def test_a_scheduled_run_prepares_like_the_web_pod_waits_for_migrations_and_runs_its_command_once():
    s = normalise("shop", {**MINIMAL, "schedules": [SCHEDULE], "migrations": "job"})
    ((role, cron),) = schedules.schedule_cron_jobs(s, REFS)
    assert role == "schedule-report" and cron["metadata"]["name"] == "shop-report"
    assert cron["metadata"]["labels"] == labels("shop", "schedule")
    template = cron["spec"]["jobTemplate"]["spec"]["template"]
    assert template["metadata"] == {
        "labels": labels("shop", "schedule"),
        "annotations": {"djangoapp.io/config-hash": s.config_hash},
    }
    pod = template["spec"]
    assert pod["restartPolicy"] == "Never" and "topologySpreadConstraints" not in pod
    assert [c["name"] for c in pod["initContainers"]] == [
        "fetch-config",
        "fetch-secrets",
        "wait-for-db",
        "wait-for-migrations",
    ]
    (run,) = pod["containers"]
    django = app_pod.django_container(s)
    assert run == {
        "name": "report", "image": "ghcr.io/acme/shop:1.4.2", "imagePullPolicy": "Always",
        "command": ["python", "manage.py", "report"], "env": django["env"], "resources": django["resources"],
        "volumeMounts": django["volumeMounts"], "securityContext": RESTRICTED,
    }  # fmt: skip
    assert pod["volumes"] == app_pod.volumes(s, REFS)
    none = normalise(
        "shop",
        {
            **MINIMAL,
            "schedules": [
                {**SCHEDULE, "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}}}
            ],
            "migrations": "none",
        },
    )
    pod = schedules.schedule_pod_spec(none, none.schedules[0], REFS)
    assert [c["name"] for c in pod["initContainers"]][-1] == "wait-for-db", (
        "with migrations none nobody waits for them"
    )
    assert pod["containers"][0]["resources"]["requests"] == {"cpu": "10m", "memory": "32Mi"}


def test_a_process_waits_for_migrations_in_every_mode_spreads_from_two_replicas_and_has_its_own_grace():
    for mode in ("init-container", "job", "none"):
        s = normalise("shop", {**POD_IDENTITY_ARGS, "processes": [WORKER], "migrations": mode})
        ((role, deployment),) = processes.process_deployments(s, REFS)
        assert role == "process-worker" and deployment["metadata"]["name"] == "shop-worker"
        template = deployment["spec"]["template"]
        pod = template["spec"]
        assert [c["name"] for c in pod["initContainers"]][-1] == "wait-for-migrations", mode
        assert template["metadata"]["labels"]["djangoapp.io/process"] == "worker"
        assert template["metadata"]["annotations"] == {
            "djangoapp.io/config-hash": s.config_hash,
            "eks.amazonaws.com/skip-containers": "wait-for-db,wait-for-migrations,worker",
        }
        assert pod["terminationGracePeriodSeconds"] == 120
        assert [t["topologyKey"] for t in pod["topologySpreadConstraints"]] == [
            "kubernetes.io/hostname",
            "topology.kubernetes.io/zone",
        ]
        (worker,) = pod["containers"]
        assert worker["command"] == ["celery", "-A", "project", "worker"]
        assert {"HEARTBEAT_FILE", "READY_FILE"} <= {e["name"] for e in worker["env"]}
        assert {"startupProbe", "readinessProbe", "livenessProbe"} <= set(worker)
    one = normalise("shop", {**MINIMAL, "processes": [{**WORKER, "replicas": 1}]})
    assert "topologySpreadConstraints" not in processes.process_pod_spec(
        one, one.processes[0], REFS
    )


def test_the_migration_job_pod_prepares_like_the_web_pod_and_runs_only_the_locked_migrate():
    s = normalise("shop", {**MINIMAL, "migrations": "job"})
    pod = app_pod.migration_pod_spec(s, REFS)
    assert "topologySpreadConstraints" not in pod
    assert [c["name"] for c in pod["initContainers"]] == [
        "fetch-config",
        "fetch-secrets",
        "wait-for-db",
    ]
    assert [c["name"] for c in pod["containers"]] == ["migrate"]
    job = app_pod.migration_job(s, REFS)
    assert (
        job["metadata"]["name"].startswith("shop-migrate-")
        and job["spec"]["template"]["spec"]["containers"] == pod["containers"]
    )
    assert app_pod.migration_job(normalise("shop", MINIMAL), REFS) is None

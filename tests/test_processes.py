"""Background processes: a Deployment each with the app pod's plumbing, never migrating."""

import dataclasses

import kubernetes_validate
import pytest
from conftest import KUBERNETES_ONLY, MINIMAL, REFS
from harness import run_program

from pulumi_djangoapp import DjangoApp
from pulumi_djangoapp.builders import manifests
from pulumi_djangoapp.settings import normalise
from pulumi_djangoapp.settings.checks import ValidationError

WORKER = {"name": "worker", "command": ["celery", "-A", "project", "worker"]}
BEAT = {"name": "beat", "command": ["celery", "-A", "project", "beat"], "singleton": True}
SIDECAR = {"name": "log-shipper", "image": "cr.fluentbit.io/fluent/fluent-bit:3.2.4"}
PLACEHOLDERS = {k: f"[{k}]" for k in (*manifests.SECRET_VALUES, *manifests.BROKER_SECRET_VALUES)}
BROKER_REFS = dataclasses.replace(
    REFS,
    secret_ids={
        **REFS.secret_ids,
        "broker-url": "arn:aws:secretsmanager:eu-west-3:123456789012:secret:broker-AbCdEf",
    },
)


def objects(base=MINIMAL, **args):
    s = normalise("shop", {**base, **args})
    refs = (BROKER_REFS if s.broker else REFS) if s.uses_aws else None
    return dict(manifests.kubernetes_objects(s, PLACEHOLDERS, refs))


def pod(deployment):
    return deployment["spec"]["template"]["spec"]


def names(containers):
    return [c["name"] for c in containers]


def refused(**args):
    with pytest.raises(ValidationError) as error:
        normalise("shop", {**MINIMAL, **args})
    return {p.field: p for p in error.value.problems}


@pytest.mark.parametrize("mode", ["init-container", "job", "none"])
def test_a_process_has_the_web_pods_plumbing_and_waits_for_migrations_in_every_mode(mode):
    spec = pod(objects(processes=[WORKER], sidecars=[SIDECAR], migrations=mode)["process-worker"])
    assert names(spec["initContainers"]) == [
        "log-shipper",
        "fetch-config",
        "fetch-secrets",
        "wait-for-db",
        "wait-for-migrations",
    ]
    gate = spec["initContainers"][-1]
    assert gate["command"][:2] == ["sh", "-c"] and "migrate --check" in gate["command"][2]
    assert {"name": "MIGRATIONS_WAIT_TIMEOUT", "value": "600"} in gate["env"]
    (process,) = spec["containers"]
    assert process["command"] == WORKER["command"] and process["image"] == MINIMAL["image"]
    assert "ports" not in process and "lifecycle" not in process


def test_a_process_cannot_run_migrations_or_hold_cloud_credentials():
    spec = pod(objects(processes=[WORKER])["process-worker"])
    assert "migrate" not in names(spec["initContainers"])
    env = {e["name"] for e in spec["containers"][0]["env"]}
    assert not any(n.startswith("AWS_") for n in env)
    assert "DATABASE_URL" not in env and {"DATABASE_URL_FILE", "SECRET_KEY_FILE"} <= env


def test_process_probes_read_the_files_the_component_names_in_its_env():
    (process,) = pod(
        objects(processes=[{**WORKER, "heartbeat_max_age_seconds": 90}])["process-worker"]
    )["containers"]
    env = {e["name"]: e.get("value") for e in process["env"]}
    assert (env["HEARTBEAT_FILE"], env["READY_FILE"]) == ("/tmp/heartbeat", "/tmp/ready")
    alive = process["livenessProbe"]["exec"]["command"]
    assert alive[:3] == ["python", "-I", "-S"] and alive[-3:] == ["alive", "/tmp/heartbeat", "90"]
    assert process["readinessProbe"]["exec"]["command"][-2:] == ["ready", "/tmp/ready"]
    assert process["startupProbe"]["exec"]["command"][-2:] == ["ready", "/tmp/ready"]
    assert "celery" not in " ".join(alive), "no probe loads the app or asks the broker"


def test_process_probes_can_be_switched_off():
    (process,) = pod(objects(processes=[{**WORKER, "probes": False}])["process-worker"])[
        "containers"
    ]
    assert not {"livenessProbe", "readinessProbe", "startupProbe"} & set(process)


def test_a_singleton_is_one_pod_replaced_by_recreate_and_a_worker_rolls():
    objs = objects(processes=[WORKER, BEAT])
    beat, worker = objs["process-beat"]["spec"], objs["process-worker"]["spec"]
    assert beat["replicas"] == 1 and beat["strategy"] == {"type": "Recreate"}
    assert (
        worker["strategy"]["type"] == "RollingUpdate"
        and worker["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    )


def test_each_process_selects_only_its_own_pods():
    objs = objects(processes=[WORKER, BEAT])
    worker, beat, web = (
        objs[r]["spec"]["selector"]["matchLabels"]
        for r in ("process-worker", "process-beat", "deployment")
    )
    assert worker != beat and worker != web
    for role in ("process-worker", "process-beat"):
        template = objs[role]["spec"]["template"]["metadata"]["labels"]
        assert objs[role]["spec"]["selector"]["matchLabels"].items() <= template.items()


def test_termination_grace_is_the_processes_own():
    spec = pod(objects(processes=[{**WORKER, "termination_grace_seconds": 900}])["process-worker"])
    assert spec["terminationGracePeriodSeconds"] == 900


def test_two_replicas_get_a_pdb_and_spread_one_gets_neither():
    objs = objects(processes=[{**WORKER, "replicas": 3}, BEAT])
    assert (
        objs["pdb-worker"]["spec"]["selector"]["matchLabels"]
        == objs["process-worker"]["spec"]["selector"]["matchLabels"]
    )
    assert objs["pdb-worker"]["spec"]["maxUnavailable"] == 1
    assert "pdb-beat" not in objs
    assert "topologySpreadConstraints" in pod(objs["process-worker"])
    assert "topologySpreadConstraints" not in pod(objs["process-beat"])


def test_an_autoscaled_process_targets_its_own_container():
    objs = objects(processes=[{**WORKER, "autoscaling": {"min_replicas": 2, "max_replicas": 6}}])
    hpa = objs["hpa-worker"]["spec"]
    assert hpa["scaleTargetRef"]["name"] == "shop-worker"
    assert hpa["metrics"][0]["containerResource"]["container"] == "worker"
    assert objs["process-worker"]["spec"]["replicas"] == 2


def test_processes_admit_nothing_and_reach_the_database():
    objs = objects(processes=[WORKER])
    policy = objs["netpol-processes"]["spec"]
    assert policy["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "process"
    assert policy["policyTypes"] == ["Ingress", "Egress"] and "ingress" not in policy
    database = objs["netpol-postgres"]["spec"]["ingress"][0]["from"]
    assert {"podSelector": {"matchLabels": policy["podSelector"]["matchLabels"]}} in database


@pytest.mark.parametrize("version", ["1.32.0", "1.34.0", "1.37.0"])
def test_process_objects_pass_the_strict_schemas_on_both_backends(version):
    for base in (MINIMAL, KUBERNETES_ONLY):
        objs = objects(
            base, processes=[{**WORKER, "autoscaling": {"max_replicas": 4}}, BEAT], broker={}
        )
        for role, obj in objs.items():
            if role.startswith(("process-", "pdb-", "hpa-", "netpol-", "broker")):
                kubernetes_validate.validate(obj, version, strict=True)


def test_the_component_registers_processes_after_the_migration_job_and_what_their_pods_need():
    run = run_program(
        lambda: DjangoApp("shop", {**MINIMAL, "migrations": "job", "processes": [WORKER]}).namespace
    )
    worker = run.one("apps/v1:Deployment", "shop-process-worker")
    needed = {
        run.one("batch/v1:Job").urn,
        run.one("iam/rolePolicy:RolePolicy").urn,
        run.one("s3/bucket:Bucket").urn,
    }
    assert needed <= set(worker.dependencies)
    create, update = worker.timeouts
    assert create == update and int(create.rstrip("m")) >= (120 + 600 + 300) / 60


def test_effective_resources_are_an_output_for_every_pod_kind():
    run = run_program(
        lambda: (
            DjangoApp(
                "shop",
                {
                    **MINIMAL,
                    "processes": [
                        {**WORKER, "resources": {"requests": {"cpu": "1"}, "limits": {"cpu": "2"}}}
                    ],
                    "broker": {},
                },
            ).effective_resources
        )
    )
    kinds = run.result
    assert set(kinds) == {"web", "postgres", "broker", "process-worker", "release-gate"}
    # worker 1 CPU vs the init steps: the larger of the app and the biggest init step wins.
    assert kinds["process-worker"]["requests"]["cpu"] == "1"
    assert kinds["broker"]["limits"]["memory"] == "256Mi"


def test_a_process_cannot_reuse_a_name_of_a_sidecar_schedule_container_or_process():
    schedule = {
        "name": "report",
        "schedule": "@daily",
        "command": ["python", "manage.py", "report"],
    }
    problems = refused(
        sidecars=[SIDECAR],
        schedules=[schedule],
        processes=[
            {**WORKER, "name": "log-shipper"},
            {**WORKER, "name": "report"},
            {**WORKER, "name": "django"},
            WORKER,
            WORKER,
        ],
    )
    assert {
        "processes[0].name",
        "processes[1].name",
        "processes[2].name",
        "processes[4].name",
    } <= set(problems)
    assert "processes[3].name" not in problems


@pytest.mark.parametrize(
    "process, field",
    [
        ({**BEAT, "replicas": 2}, "processes[0].replicas"),
        ({**BEAT, "autoscaling": {"max_replicas": 3}}, "processes[0].autoscaling"),
        ({**WORKER, "command": "celery -A project worker"}, "processes[0].command"),
        ({**WORKER, "command": []}, "processes[0].command"),
        ({**WORKER, "name": "Worker"}, "processes[0].name"),
        ({**WORKER, "name": "worker-" + "x" * 40}, "processes[0].name"),
        ({**WORKER, "heartbeat_file": "/app/heartbeat"}, "processes[0].heartbeat_file"),
        ({**WORKER, "ready_file": "/tmp/heartbeat"}, "processes[0].ready_file"),
        ({**WORKER, "heartbeat_max_age_seconds": 1}, "processes[0].heartbeat_max_age_seconds"),
        ({**WORKER, "termination_grace_seconds": 0}, "processes[0].termination_grace_seconds"),
        ({**WORKER, "replicas": 0}, "processes[0].replicas"),
        ({**WORKER, "threads": 4}, "processes[0].threads"),
    ],
)
def test_a_process_cannot_be_what_the_api_server_or_the_pod_would_refuse(process, field):
    problems = refused(processes=[process])
    assert field in problems, problems


def test_a_singleton_with_one_replica_and_a_scaled_worker_can_coexist():
    s = normalise(
        "shop",
        {
            **MINIMAL,
            "processes": [{**BEAT, "replicas": 1}, {**WORKER, "autoscaling": {"max_replicas": 3}}],
        },
    )
    assert [p.replicas for p in s.processes] == [1, 2]


def test_a_worker_without_heartbeats_cannot_have_heartbeat_probes():
    command = [*WORKER["command"], "--without-heartbeat"]
    problems = refused(processes=[{**WORKER, "command": command}])
    assert "processes[0].command" in problems
    assert "--without-heartbeat" in str(
        problems["processes[0].command"]
    ) and "probes: false" in str(problems["processes[0].command"])


def test_a_worker_without_heartbeats_can_run_without_probes():
    s = normalise(
        "shop",
        {
            **MINIMAL,
            "processes": [
                {**WORKER, "command": [*WORKER["command"], "--without-heartbeat"], "probes": False}
            ],
        },
    )
    assert s.processes[0].probes is False


def test_the_broker_redelivers_a_killed_workers_task_after_the_longest_grace_not_an_hour():
    # kombu's Redis transport: visibility_timeout 3600 s unless the app says otherwise.
    s = normalise(
        "shop",
        {
            **MINIMAL,
            "broker": {},
            "processes": [
                {**WORKER, "termination_grace_seconds": 600},
                {"name": "beat", "command": ["celery", "beat"], "singleton": True},
            ],
        },
    )
    objs = dict(
        manifests.kubernetes_objects(
            s,
            {
                "password": "p",
                "database_url": "u",
                "database_json": "j",
                "secret_key": "k",
                "broker_url": "b",
                "broker_acl": "a",
            },
            BROKER_REFS,
        )
    )
    for role in ("deployment", "process-worker"):
        env = {
            e["name"]: e.get("value")
            for e in objs[role]["spec"]["template"]["spec"]["containers"][0]["env"]
        }
        assert env["BROKER_VISIBILITY_TIMEOUT"] == "660", role
    assert "BROKER_VISIBILITY_TIMEOUT" not in str(
        dict(
            manifests.kubernetes_objects(
                normalise("shop", MINIMAL),
                {"password": "p", "database_url": "u", "database_json": "j", "secret_key": "k"},
                REFS,
            )
        )
    )


def test_the_example_app_hands_the_visibility_timeout_to_celery():
    import subprocess
    import sys

    from conftest import ROOT

    code = "import django, os; django.setup(); from project.celery import app; print(app.conf.broker_transport_options['visibility_timeout'])"
    # DJANGO_BUILD: the settings need no secret files (as when the image collects static files).
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "project.settings",
        "BROKER_VISIBILITY_TIMEOUT": "660",
        "DJANGO_BUILD": "1",
    }
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT / "examples" / "django_app",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "660"

"""Scheduled management commands: CronJobs with the app pod's plumbing."""

import kubernetes_validate
import pytest
from conftest import KUBERNETES_ONLY, MINIMAL, REFS
from harness import run_program

from pulumi_djangoapp import DjangoApp
from pulumi_djangoapp.builders import manifests
from pulumi_djangoapp.settings import normalise, schedules
from pulumi_djangoapp.settings.checks import ValidationError

CLEAR = {
    "name": "clearsessions",
    "schedule": "0 3 * * *",
    "command": ["python", "manage.py", "clearsessions"],
}
PLACEHOLDERS = {"password": "p", "database_url": "u", "database_json": "j", "secret_key": "k"}
SIDECAR = {"name": "log-shipper", "image": "cr.fluentbit.io/fluent/fluent-bit:3.2.4"}


def objects(base=MINIMAL, **args):
    s = normalise("shop", {**base, **args})
    return {
        role: obj
        for role, obj in manifests.kubernetes_objects(s, PLACEHOLDERS, REFS if s.uses_aws else None)
    }


def cron(**schedule):
    return objects(schedules=[{**CLEAR, **schedule}])["schedule-clearsessions"]


def pod(cron_job):
    return cron_job["spec"]["jobTemplate"]["spec"]["template"]["spec"]


def test_a_schedule_is_a_cron_job_that_never_piles_up_or_starts_late():
    job = cron(time_zone="Europe/Paris")
    spec = job["spec"]
    assert job["metadata"]["name"] == "shop-clearsessions"
    assert (spec["schedule"], spec["timeZone"]) == ("0 3 * * *", "Europe/Paris")
    assert spec["concurrencyPolicy"] == "Forbid"
    assert spec["startingDeadlineSeconds"] == 300
    assert spec["successfulJobsHistoryLimit"] == 3 and spec["failedJobsHistoryLimit"] == 3
    run = spec["jobTemplate"]["spec"]
    assert run["backoffLimit"] == 2 and run["activeDeadlineSeconds"] == 3600
    assert run["ttlSecondsAfterFinished"] == 86400
    assert run["podFailurePolicy"]["rules"][0]["onPodConditions"][0]["type"] == "DisruptionTarget"
    assert pod(job)["restartPolicy"] == "Never"


def test_a_run_has_the_web_pods_plumbing_waits_for_migrations_and_never_migrates():
    job_pod = pod(objects(schedules=[CLEAR], sidecars=[SIDECAR])["schedule-clearsessions"])
    init = [c["name"] for c in job_pod["initContainers"]]
    assert init == [
        "log-shipper",
        "fetch-config",
        "fetch-secrets",
        "wait-for-db",
        "wait-for-migrations",
    ]
    assert (
        job_pod["initContainers"][0]["restartPolicy"] == "Always"
    )  # native: never holds the Job open
    (command,) = job_pod["containers"]
    assert command["command"] == ["python", "manage.py", "clearsessions"]
    assert command["image"] == MINIMAL["image"]
    assert {"readOnlyRootFilesystem": True, "runAsNonRoot": True}.items() <= command[
        "securityContext"
    ].items()
    assert "migrate" not in init


def test_with_migrations_none_a_run_does_not_wait_for_them():
    init = [c["name"] for c in pod(cron())["initContainers"]]
    assert "wait-for-migrations" in init
    none = [
        c["name"]
        for c in pod(objects(schedules=[CLEAR], migrations="none")["schedule-clearsessions"])[
            "initContainers"
        ]
    ]
    assert "wait-for-migrations" not in none


def test_a_schedule_can_be_suspended_and_sized():
    job = cron(
        suspend=True,
        deadline_seconds=600,
        resources={"requests": {"cpu": "50m"}, "limits": {"cpu": "100m"}},
    )
    assert job["spec"]["suspend"] is True
    assert job["spec"]["jobTemplate"]["spec"]["activeDeadlineSeconds"] == 600
    assert pod(job)["containers"][0]["resources"]["requests"]["cpu"] == "50m"


def test_scheduled_pods_admit_nothing_and_reach_the_database():
    objs = objects(schedules=[CLEAR])
    policy = objs["netpol-schedules"]["spec"]
    assert policy["policyTypes"] == ["Ingress", "Egress"] and "ingress" not in policy
    assert policy["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "schedule"
    clients = [
        p["podSelector"]["matchLabels"]["app.kubernetes.io/component"]
        for p in objs["netpol-postgres"]["spec"]["ingress"][0]["from"]
    ]
    assert "schedule" in clients


@pytest.mark.parametrize("version", ["1.32.0", "1.34.0", "1.37.0"])
def test_cron_jobs_pass_the_strict_schemas_on_both_backends(version):
    for base in (MINIMAL, KUBERNETES_ONLY):
        for role, obj in objects(
            base, schedules=[CLEAR, {**CLEAR, "name": "report", "schedule": "@daily"}]
        ).items():
            if role.startswith(("schedule-", "netpol-")):
                kubernetes_validate.validate(obj, version, strict=True)


def test_the_component_registers_each_cron_job_after_what_its_first_run_needs():
    run = run_program(lambda: DjangoApp("shop", {**MINIMAL, "schedules": [CLEAR]}).namespace)
    job = run.one("batch/v1:CronJob")
    needed = {
        run.one("iam/rolePolicy:RolePolicy").urn,
        run.one("s3/bucket:Bucket").urn,
        run.one("core/v1:Namespace").urn,
    }
    assert needed <= set(job.dependencies)


@pytest.mark.parametrize(
    "expression",
    [
        "0 3 * * *",
        "*/15 * * * *",
        "0 9-17 * * MON-FRI",
        "30 2 1,15 * *",
        "@daily",
        "@hourly",
        "0 0 1 JAN *",
        "5 4 * * SUN",
        "0 */2 * * 1-5",
    ],
)
def test_cron_expressions_the_controller_accepts_pass(expression):
    assert schedules.cron_problem(expression) is None


@pytest.mark.parametrize(
    "expression",
    ["", "* * * *", "* * * * * *", "60 * * * *", "* 24 * * *", "* * 0 * *", "* * * 13 *", "* * * * 7",
     "*/0 * * * *", "5-1 * * * *", "@every 5m", "@fortnightly", "TZ=UTC 0 3 * * *", "0 3 * * FUNDAY", 3],
)  # fmt: skip
def test_cron_expressions_the_controller_refuses_are_refused(expression):
    assert schedules.cron_problem(expression) is not None


@pytest.mark.parametrize(
    "schedule, field",
    [
        ({"schedule": "61 * * * *"}, "schedules[0].schedule"),
        ({"time_zone": "Mars/Olympus"}, "schedules[0].time_zone"),
        ({"time_zone": "CET+1"}, "schedules[0].time_zone"),
        ({"name": "Clear"}, "schedules[0].name"),
        ({"name": "x" * 60}, "schedules[0].name"),
        ({"name": "migrate"}, "schedules[0].name"),
        ({"name": "log-shipper"}, "schedules[0].name"),
        ({"command": "python manage.py clearsessions"}, "schedules[0].command"),
        ({"command": []}, "schedules[0].command"),
        ({"deadline_seconds": 0}, "schedules[0].deadline_seconds"),
        ({"suspend": "yes"}, "schedules[0].suspend"),
        ({"every": "day"}, "schedules[0].every"),
        ({"resources": {"limits": {"cpu": "10m"}}}, "schedules[0].resources.limits.cpu"),
    ],
)
def test_a_schedule_cannot_be_what_the_api_server_or_the_pod_would_refuse(schedule, field):
    with pytest.raises(ValidationError) as caught:
        normalise("shop", {**MINIMAL, "sidecars": [SIDECAR], "schedules": [{**CLEAR, **schedule}]})
    assert field in {p.field for p in caught.value.problems}


def test_two_schedules_cannot_share_a_name():
    with pytest.raises(ValidationError) as caught:
        normalise("shop", {**MINIMAL, "schedules": [CLEAR, CLEAR]})
    assert "schedules[1].name" in {p.field for p in caught.value.problems}

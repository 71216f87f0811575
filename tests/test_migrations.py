import pytest
from conftest import KUBERNETES_ONLY, MINIMAL, REFS
from harness import run_program

from pulumi_djangoapp import DjangoApp
from pulumi_djangoapp.builders import app as app_pod
from pulumi_djangoapp.builders import migrations
from pulumi_djangoapp.settings.app import normalise
from pulumi_djangoapp.settings.checks import ValidationError
from pulumi_djangoapp.settings.migrations import default_lock_key

SIDECAR = {"name": "log-shipper", "image": "fluent/fluent-bit:3.2.4"}


def settings(**args):
    return normalise("shop", {**MINIMAL, **args})


def init_names(**args):
    s = settings(**args)
    return [c["name"] for c in app_pod.pod_spec(s, REFS)["initContainers"]]


def problems(**args):
    with pytest.raises(ValidationError) as caught:
        settings(**args)
    return {p.field: p for p in caught.value.problems}


def test_init_container_mode_migrates_under_the_advisory_lock_by_default():
    s = settings()
    migrate = app_pod.pod_spec(s, REFS)["initContainers"][-1]
    env = {e["name"]: e.get("value") for e in migrate["env"]}
    assert migrate["name"] == "migrate"
    assert env["MIGRATION_LOCK_KEY"] == str(default_lock_key("shop", "shop"))
    assert env["MIGRATION_LOCK_TIMEOUT"] == "600"
    script = migrate["command"][-1]
    assert (
        script.index("pg_try_advisory_lock")
        < script.index('call_command("migrate"')
        < script.index("pg_advisory_unlock")
    )


def test_job_mode_pods_wait_for_migrations_instead_of_migrating():
    assert init_names(migrations="job")[-1] == "wait-for-migrations"
    assert "migrate" not in init_names(migrations="job")


def test_none_mode_has_no_migration_step_only_the_deploy_check():
    assert init_names(migrations="none")[-2:] == ["wait-for-db", "deploy-check"]
    assert init_names(migrations="none", deploy_check={"enabled": False})[-1] == "wait-for-db"


def test_lock_key_and_timeout_are_configurable():
    s = settings(migration_lock_key=42, migration_lock_timeout_seconds=30)
    env = {
        e["name"]: e.get("value") for e in app_pod.pod_spec(s, REFS)["initContainers"][-1]["env"]
    }
    assert (env["MIGRATION_LOCK_KEY"], env["MIGRATION_LOCK_TIMEOUT"]) == ("42", "30")


def test_default_lock_keys_differ_per_app_and_fit_in_64_bits():
    keys = {default_lock_key(ns, name) for ns in ("a", "b") for name in ("web", "admin")}
    assert len(keys) == 4
    assert all(-(2**63) <= k < 2**63 for k in keys)


def test_job_is_named_per_release_and_stable_for_the_same_release():
    def name(**args):
        return app_pod.migration_job(settings(migrations="job", **args), REFS)["metadata"]["name"]

    assert name() == name()
    assert name() != name(image="ghcr.io/acme/shop:1.4.3")
    assert name() != name(migration_release="r2")
    assert name() != name(env={"FEATURE": "on"})  # the template changed: a new Job, not a patch
    assert name().startswith("shop-migrate-") and len(name()) <= 63


def test_job_runs_the_locked_migrate_once_with_bounded_retries():
    job = app_pod.migration_job(
        settings(
            migrations="job",
            migration_job_backoff_limit=1,
            migration_job_deadline_seconds=300,
            sidecars=[SIDECAR],
        ),
        REFS,
    )
    spec = job["spec"]
    assert (spec["backoffLimit"], spec["activeDeadlineSeconds"]) == (1, 300)
    pod = spec["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    assert [c["name"] for c in pod["initContainers"]] == [
        "log-shipper",
        "fetch-config",
        "fetch-secrets",
        "wait-for-db",
    ]
    assert pod["initContainers"][0]["restartPolicy"] == "Always"  # does not keep the Job running
    assert [c["name"] for c in pod["containers"]] == ["migrate"]
    assert pod["containers"][0]["command"] == migrations.migrate_command()


def test_no_job_outside_job_mode():
    assert app_pod.migration_job(settings(), REFS) is None


def test_deployment_waits_for_the_migration_job():
    run = run_program(lambda: DjangoApp("shop", {**KUBERNETES_ONLY, "migrations": "job"}).namespace)
    job = run.one("batch/v1:Job")
    assert job.urn in run.one("Deployment").dependencies


@pytest.mark.parametrize("mode", ["always", "", "INIT", "Job"])
def test_unknown_migration_mode_is_refused(mode):
    assert "migrations" in problems(migrations=mode)


@pytest.mark.parametrize("timeout", [0, -5, 1.5, "10"])
def test_lock_timeout_must_be_positive(timeout):
    assert "migration_lock_timeout_seconds" in problems(migration_lock_timeout_seconds=timeout)


def test_lock_key_must_fit_a_signed_64_bit_integer():
    assert "migration_lock_key" in problems(migration_lock_key=2**63)


def test_job_settings_outside_job_mode_are_refused():
    assert "migration_job_backoff_limit" in problems(migration_job_backoff_limit=3)


def test_job_mode_cannot_target_a_version_whose_sidecars_could_be_regular_containers():
    # Below 1.29 a sidecar would be a regular container and keep the Job running forever; such
    # versions are below the oldest supported one, so they never reach the Job builder.
    found = problems(migrations="job", kubernetes_version="1.28", sidecars=[SIDECAR])
    assert "1.32 or newer" in found["kubernetes_version"].allowed


def test_release_label_must_be_a_short_name():
    assert "migration_release" in problems(migrations="job", migration_release="Release 2!")


def test_job_name_fits_the_63_character_limit_at_the_longest_component_name():
    s = normalise("s" * 40, {**MINIMAL, "migrations": "job"})
    assert len(app_pod.migration_job(s, REFS)["metadata"]["name"]) <= 63


def test_two_apps_in_one_namespace_get_different_job_names():
    def name(app):
        s = normalise(
            app, {**MINIMAL, "migrations": "job", "namespace": "shared", "create_namespace": False}
        )
        return app_pod.migration_job(s, REFS)["metadata"]["name"]

    assert name("web") != name("admin")


def test_a_failed_migration_job_is_replaced_by_the_next_up_instead_of_awaited_forever():
    run = run_program(lambda: DjangoApp("shop", {**MINIMAL, "migrations": "job"}).namespace)
    job = run.one("batch/v1:Job")
    assert job.inputs["metadata"]["annotations"]["pulumi.com/replaceUnready"] == "true"


def minutes(duration):
    assert duration.endswith("m"), duration
    return int(duration[:-1])


@pytest.mark.parametrize("deadline", [900, 3600])
def test_pulumi_waits_for_the_job_longer_than_the_jobs_own_deadline(deadline):
    run = run_program(
        lambda: (
            DjangoApp(
                "shop", {**MINIMAL, "migrations": "job", "migration_job_deadline_seconds": deadline}
            ).namespace
        )
    )
    create, update = run.one("batch/v1:Job").timeouts
    assert minutes(create) * 60 > deadline and minutes(update) * 60 > deadline


@pytest.mark.parametrize(
    "mode, bound",
    [
        ("init-container", "migration_lock_timeout_seconds"),
        ("job", "migrations_wait_timeout_seconds"),
    ],
)
def test_pulumi_waits_for_a_rollout_longer_than_its_pods_may_wait_for_the_database_and_migrations(
    mode, bound
):
    args = {**MINIMAL, "migrations": mode, bound: 1800, "db_wait_timeout_seconds": 600}
    run = run_program(lambda: DjangoApp("shop", args).namespace)
    create, _ = run.one("Deployment").timeouts
    assert minutes(create) * 60 > 1800 + 600 + 120  # + the startup probe's 120 s


# --- The steps and the Job, whole ------------------------------------------------------------

from conftest import POD_IDENTITY  # noqa: E402

from pulumi_djangoapp.builders.labels import labels  # noqa: E402
from pulumi_djangoapp.builders.security import container_security_context  # noqa: E402


def _django_env(s):
    return app_pod.app_env(s)


def _mounts():
    return [
        {"name": "config", "mountPath": "/app/config", "readOnly": True},
        {"name": "secrets", "mountPath": "/run/secrets/app", "readOnly": True},
        {"name": "tmp", "mountPath": "/tmp"},
        {"name": "logs", "mountPath": "/var/log/app"},
    ]


APP_RESOURCES = {
    "requests": {"cpu": "250m", "memory": "256Mi"},
    "limits": {"cpu": "1", "memory": "512Mi"},
}


def test_the_migrate_step_runs_the_deploy_check_then_the_locked_script_in_a_quiet_django_shell_with_the_apps_env_and_mounts():
    s = settings(migration_lock_key=42, migration_lock_timeout_seconds=300)
    migrate = app_pod.pod_spec(s, REFS)["initContainers"][-1]
    script = migrate["command"][-1]
    # The gate first: a release that fails it never takes the lock nor migrates.
    assert script.index('call_command("check", deploy=True') < script.index("pg_try_advisory_lock")
    assert migrate == {
        "name": "migrate",
        "image": "ghcr.io/acme/shop:1.4.2",
        "imagePullPolicy": "Always",
        "command": ["python", "manage.py", "shell", "-v", "0", "-c", script],
        "env": [
            *_django_env(s),
            {"name": "MIGRATION_LOCK_KEY", "value": "42"},
            {"name": "MIGRATION_LOCK_TIMEOUT", "value": "300"},
            {"name": "DEPLOY_CHECK_FAIL_LEVEL", "value": "WARNING"},
            # No way in: the HTTPS checks cannot pass and are silenced, each with its reason.
            {
                "name": "DEPLOY_CHECK_SILENCED",
                "value": "security.W004,security.W008,security.W012,security.W016",
            },
        ],
        "resources": APP_RESOURCES,
        "volumeMounts": _mounts(),
        "securityContext": container_security_context(10001),
    }


def test_the_job_mode_gate_waits_a_bounded_time_with_migrate_check_in_the_app_image():
    s = settings(migrations="job", migrations_wait_timeout_seconds=240)
    gate = app_pod.pod_spec(s, REFS)["initContainers"][-1]
    assert gate == {
        "name": "wait-for-migrations",
        "image": "ghcr.io/acme/shop:1.4.2",
        "imagePullPolicy": "Always",
        "command": ["sh", "-c", migrations.WAIT_FOR_MIGRATIONS],
        "env": [*_django_env(s), {"name": "MIGRATIONS_WAIT_TIMEOUT", "value": "240"}],
        "resources": APP_RESOURCES,
        "volumeMounts": _mounts(),
        "securityContext": container_security_context(10001),
    }
    assert (
        "migrate --check" in migrations.WAIT_FOR_MIGRATIONS
        and "MIGRATIONS_WAIT_TIMEOUT" in migrations.WAIT_FOR_MIGRATIONS
    )


def test_the_migration_job_is_labelled_annotated_and_never_restarts_its_pod():
    s = normalise("shop", {**POD_IDENTITY, "migrations": "job"})
    job = app_pod.migration_job(s, REFS)
    migrate_labels = labels("shop", "migrate")
    assert job["metadata"] == {
        "name": job["metadata"]["name"],
        "namespace": "shop",
        "labels": migrate_labels,
        "annotations": {"pulumi.com/replaceUnready": "true"},
    }
    template = job["spec"]["template"]
    pod = template["spec"]
    # Pod identity: only the fetch steps may get the credentials.
    assert template["metadata"] == {
        "labels": migrate_labels,
        "annotations": {"eks.amazonaws.com/skip-containers": "wait-for-db,migrate"},
    }
    assert pod["restartPolicy"] == "Never"
    assert [c["name"] for c in pod["initContainers"]] == [
        "fetch-config",
        "fetch-secrets",
        "wait-for-db",
    ]
    assert [c["name"] for c in pod["containers"]] == ["migrate"]
    web_identity = app_pod.migration_job(settings(migrations="job"), REFS)["spec"]["template"][
        "metadata"
    ]
    assert web_identity == {"labels": migrate_labels}


def test_the_job_name_is_a_ten_character_hash_independent_of_key_order():
    s = settings(migrations="job")
    name = migrations.job_name(s, {"a": 1, "b": 2})
    assert name.startswith("shop-migrate-") and len(name.removeprefix("shop-migrate-")) == 10
    assert migrations.job_name(s, {"b": 2, "a": 1}) == name
    assert migrations.job_name(s, {"a": 1, "b": 3}) != name


def _built(**args):
    from pulumi_djangoapp.builders import manifests

    s = settings(**args)
    values = dict.fromkeys((*manifests.SECRET_VALUES, *manifests.FEATURE_SECRET_VALUES), "x")
    built = manifests.built_objects(s, values, REFS)
    return {b.role: b for b in built}, built


def test_the_rollback_gate_is_one_job_per_image_that_every_rollout_waits_for():
    from pulumi_djangoapp.builders import manifests

    objects, built = _built(processes=[{"name": "w", "command": ["celery"]}])
    gate = objects["release-gate"]
    assert gate.facts.replace_on_change and gate.object["spec"]["backoffLimit"] == 1
    (step,) = gate.object["spec"]["template"]["spec"]["containers"]
    assert {"name": "ROLLBACK_GATE", "value": "refuse"} in step["env"]
    earlier = [b.role for b in built]
    for role in ("deployment", "process-w"):
        index = earlier.index(role)
        assert "release-gate" in manifests.waits_for(objects[role], earlier[:index]), role
    other, _ = _built(image="ghcr.io/acme/shop:1.4.3")
    assert other["release-gate"].object["metadata"]["name"] != gate.object["metadata"]["name"]
    again, _ = _built(replicas=5)
    assert again["release-gate"].object["metadata"]["name"] == gate.object["metadata"]["name"]


def test_no_pods_migrate_step_can_refuse_an_older_image_only_the_migration_job_can():
    init_mode = app_pod.pod_spec(settings(), REFS)["initContainers"][-1]
    assert "ROLLBACK_GATE" not in {e["name"] for e in init_mode["env"]}
    objects, _ = _built(migrations="job")
    assert "release-gate" not in objects
    (migrate,) = objects["migration-job"].object["spec"]["template"]["spec"]["containers"]
    assert {"name": "ROLLBACK_GATE", "value": "refuse"} in migrate["env"]


def test_with_the_gate_off_nothing_refuses_an_older_image():
    objects, _ = _built(rollback_gate=False)
    assert "release-gate" not in objects
    objects, _ = _built(rollback_gate=False, migrations="job")
    (migrate,) = objects["migration-job"].object["spec"]["template"]["spec"]["containers"]
    assert "ROLLBACK_GATE" not in {e["name"] for e in migrate["env"]}

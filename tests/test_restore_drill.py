"""Restore drills: the arguments, the drill's pod (the restore role and the drill role, never the
app's password), the role Job (the only pod that reads both), their order and their network.
What they do on PostgreSQL and S3 is in ``contract/test_contract_restore_drill.py``."""

import json

import kubernetes_validate
import pytest
from conftest import MINIMAL, POD_IDENTITY, REFS
from harness import run_program
from test_backups import BACKUP_REFS

from pulumi_djangoapp import DjangoApp
from pulumi_djangoapp.builders import backups, database, manifests, restore_drill
from pulumi_djangoapp.settings import normalise
from pulumi_djangoapp.settings.checks import ValidationError

DRILL_REFS = BACKUP_REFS.__class__(
    bucket=BACKUP_REFS.bucket,
    region=BACKUP_REFS.region,
    secret_ids={},
    role_arn=BACKUP_REFS.role_arn,
    restore_role_arn="arn:aws:iam::123456789012:role/shop-restore-role-1",
)


def settings(base=MINIMAL, **drill):
    return normalise("shop", {**base, "backups": {"restore_drill": drill}})


def cron(base=MINIMAL, **drill):
    return restore_drill.cron_job(settings(base, **drill), restore_drill.restore_refs(DRILL_REFS))


def pod(obj):
    return obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]


def env(container):
    return {e["name"]: e.get("value") for e in container["env"]}


def refused(**backup_args):
    with pytest.raises(ValidationError) as error:
        normalise("shop", {**MINIMAL, "backups": backup_args})
    return {p.field: p for p in error.value.problems}


def test_a_drill_runs_after_the_nightly_dump_in_the_backups_time_zone_unless_told():
    d = settings().backups.restore_drill
    assert (d.schedule, d.time_zone, d.max_archive_age_hours, d.suspend) == (
        "30 4 * * *", "Etc/UTC", 36, False,
    )  # fmt: skip
    zoned = normalise(
        "shop", {**MINIMAL, "backups": {"time_zone": "Europe/Paris", "restore_drill": {}}}
    )
    assert zoned.backups.restore_drill.time_zone == "Europe/Paris"
    assert normalise("shop", {**MINIMAL, "backups": {}}).backups.restore_drill is None


def test_a_drill_cannot_be_what_would_not_run_and_every_problem_is_named_at_once():
    problems = refused(
        restore_drill={
            "schedule": "nightly",
            "time_zone": "Mars/Olympus",
            "max_archive_age_hours": 0,
            "suspend": "no",
            "keep": 1,
        }
    )
    assert {
        "backups.restore_drill.schedule",
        "backups.restore_drill.time_zone",
        "backups.restore_drill.max_archive_age_hours",
        "backups.restore_drill.suspend",
        "backups.restore_drill.keep",
    } <= set(problems)
    assert problems["backups.restore_drill.max_archive_age_hours"].value == 0
    assert "restore_drill" in refused(restore_drill="yes")["backups.restore_drill"].allowed or (
        "RestoreDrillArgs" in refused(restore_drill="yes")["backups.restore_drill"].allowed
    )


def test_the_drill_downloads_with_the_read_only_restore_role_then_restores_as_the_drill_role():
    job = cron()
    assert job["metadata"]["name"] == "shop-restore-drill"
    assert (job["spec"]["schedule"], job["spec"]["concurrencyPolicy"]) == ("30 4 * * *", "Forbid")
    assert job["spec"]["jobTemplate"]["spec"]["backoffLimit"] == 0, "a failed drill is reported"
    spec = pod(job)
    assert spec["serviceAccountName"] == backups.restore_account("shop")
    (download,), (drill,) = spec["initContainers"], spec["containers"]
    assert env(download)["AWS_ROLE_ARN"] == DRILL_REFS.restore_role_arn
    assert download["command"][-1] == backups.DOWNLOAD_SCRIPT
    assert drill["image"] == settings().database.image, "pg_restore's major is the server's"
    e = env(drill)
    assert (e["PGUSER"], e["PGDATABASE"], e["LIVE_DATABASE"]) == ("shop_drill", "postgres", "shop")
    assert e["PGPASSWORD_FILE"] == f"{backups.PASSWORD_DIR}/{restore_drill.PASSWORD_KEY}"
    assert e["MAX_ARCHIVE_AGE_HOURS"] == "36"
    assert not any(k.startswith("AWS_") for k in e), "the drill step holds no cloud credentials"


def test_the_drill_pod_cannot_read_the_apps_database_password():
    (password,) = [v for v in pod(cron())["volumes"] if v["name"] == "password"]
    assert password["secret"]["items"] == [
        {"key": restore_drill.PASSWORD_KEY, "path": restore_drill.PASSWORD_KEY}
    ]
    assert database.PASSWORD_KEY != restore_drill.PASSWORD_KEY


def test_the_drill_script_restores_into_a_scratch_name_and_drops_it_on_every_exit():
    script = restore_drill.DRILL_SCRIPT
    assert 'scratch="${base}_drill_' in script
    assert '--exit-on-error --no-owner --no-privileges --dbname "$scratch"' in script, (
        "never the live database, never as its owner"
    )
    assert '$LIVE_DATABASE" | cut -c1-40' in script, "the live name only as a prefix"
    assert '--dbname "$LIVE_DATABASE"' not in script and "ALTER DATABASE" not in script
    assert script.index("trap finish EXIT") < script.index('CREATE DATABASE :"scratch"')
    assert "trap 'exit 143' TERM" in script
    # The age check comes before anything is created.
    assert script.index("MAX_ARCHIVE_AGE_HOURS") < script.index('CREATE DATABASE :"scratch"')


def test_the_drill_role_job_is_the_only_pod_that_reads_the_app_password_and_the_verifier():
    job = restore_drill.role_job(settings())
    spec = job["spec"]["template"]["spec"]
    assert spec["serviceAccountName"] == database.statefulset_name(settings())
    assert spec["automountServiceAccountToken"] is False
    (password,) = [v for v in spec["volumes"] if v["name"] == "password"]
    assert [i["key"] for i in password["secret"]["items"]] == [
        database.PASSWORD_KEY,
        restore_drill.VERIFIER_KEY,
    ]
    (step,) = spec["containers"]
    e = env(step)
    assert (e["PGUSER"], e["PGDATABASE"], e["DRILL_USER"], e["APP_DB"]) == (
        "shop", "postgres", "shop_drill", "shop",
    )  # fmt: skip
    sql_text = restore_drill.ROLE_SQL
    assert "LOGIN CREATEDB NOSUPERUSER NOCREATEROLE" in sql_text
    assert "PASSWORD :'verifier'" in sql_text and 'drill-password"' not in sql_text
    assert 'REVOKE CONNECT, TEMPORARY ON DATABASE :"app_db" FROM PUBLIC' in sql_text


def test_a_long_database_user_still_gives_a_drill_role_within_63_bytes():
    s = normalise("shop", {**MINIMAL, "database": {"username": "u" * 63}, "backups": {}})
    assert len(restore_drill.drill_role(s)) == 63 and restore_drill.drill_role(s).endswith("_drill")


def test_with_pod_identity_the_webhook_skips_the_drill_step_only():
    job = restore_drill.cron_job(settings(POD_IDENTITY), restore_drill.restore_refs(DRILL_REFS))
    annotations = job["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["annotations"]
    assert annotations["eks.amazonaws.com/skip-containers"] == "drill"


@pytest.mark.parametrize("version", ["1.32.0", "1.37.0"])
def test_drill_objects_pass_the_strict_schemas(version):
    for obj in (cron(), restore_drill.role_job(settings())):
        kubernetes_validate.validate(obj, version, strict=True)


@pytest.fixture(scope="module")
def drilled():
    return run_program(
        lambda: (
            DjangoApp(
                "shop", {**MINIMAL, "backups": {"restore_drill": {}}, "protect_data": True}
            ).namespace
        )
    )


def test_the_role_job_runs_once_the_database_is_ready_and_a_change_replaces_it(drilled):
    job = drilled.one("batch/v1:Job", "shop-drill-role")
    assert {
        drilled.one("StatefulSet", "shop-postgres").urn,
        drilled.one("core/v1:Secret").urn,
    } <= set(job.dependencies)
    values = dict.fromkeys((*manifests.SECRET_VALUES, *manifests.FEATURE_SECRET_VALUES), "x")
    built = {b.role: b for b in manifests.built_objects(settings(), values, REFS, DRILL_REFS)}
    facts = built["drill-role"].facts
    assert facts.replace_on_change and facts.after_database and facts.mounts_credentials
    assert manifests.waits_for(built["drill-role"], built) == [
        "namespace",
        "credentials",
        "postgres",
    ]


def test_the_drill_cron_job_waits_for_the_restore_role_and_its_policy(drilled):
    (drill,) = [c for c in drilled.of_type(":CronJob") if c.name == "shop-restore-drill"]
    assert {
        drilled.one("iam/role:Role", "shop-restore-role").urn,
        drilled.one("iam/rolePolicy:RolePolicy", "shop-restore-policy").urn,
    } <= set(drill.dependencies)


def test_the_drill_password_is_generated_unprotected_and_reaches_the_secret_as_a_verifier_too(
    drilled,
):
    password = drilled.one("RandomPassword", "shop-secrets-drill-password")
    assert not password.protect, "it guards no data: turning the drill off removes it"
    data = drilled.one("core/v1:Secret").inputs["stringData"]
    assert {restore_drill.PASSWORD_KEY, restore_drill.VERIFIER_KEY} <= set(data)


def test_without_a_drill_there_is_no_drill_role_job_cron_job_or_password():
    run = run_program(lambda: DjangoApp("shop", {**MINIMAL, "backups": {}}).namespace)
    names = {r.name for r in run.registrations}
    assert not {"shop-drill-role", "shop-restore-drill", "shop-secrets-drill-password"} & names
    data = run.one("core/v1:Secret").inputs["stringData"]
    assert restore_drill.PASSWORD_KEY not in json.dumps(sorted(data))


def test_drill_pods_are_backup_clients_of_the_database_and_nothing_else(drilled):
    (drill,) = [c for c in drilled.of_type(":CronJob") if c.name == "shop-restore-drill"]
    labels = drill.inputs["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
    job = drilled.one("batch/v1:Job", "shop-drill-role")
    role_labels = job.inputs["spec"]["template"]["metadata"]["labels"]
    assert (
        labels["app.kubernetes.io/component"]
        == role_labels["app.kubernetes.io/component"]
        == ("backup")
    )
    policies = {
        r.inputs["metadata"]["name"]: r.inputs["spec"] for r in drilled.of_type("NetworkPolicy")
    }
    admitted = [
        p["podSelector"]["matchLabels"]["app.kubernetes.io/component"]
        for p in policies["shop-postgres"]["ingress"][0]["from"]
    ]
    assert "backup" in admitted

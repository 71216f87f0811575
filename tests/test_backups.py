"""Backups: the CronJob's two steps, the credentials only in the S3 step, the bucket and role."""

import json

import kubernetes_validate
import pytest
from conftest import KUBERNETES_ONLY, MINIMAL, POD_IDENTITY, REFS
from harness import run_program

from pulumi_djangoapp import DjangoApp
from pulumi_djangoapp.builders import backups
from pulumi_djangoapp.builders import backups as backup_pod
from pulumi_djangoapp.settings import normalise
from pulumi_djangoapp.settings.checks import ValidationError

BACKUP_REFS = REFS.__class__(
    bucket="shop-backups-bucket-1",
    region="eu-west-3",
    secret_ids={},
    role_arn="arn:aws:iam::123456789012:role/shop-backup-role-1",
)


def cron(base=MINIMAL, **args):
    return backup_pod.cron_job(normalise("shop", {**base, "backups": {}, **args}), BACKUP_REFS)


def pod(obj):
    return obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]


def refused(base=MINIMAL, **args):
    with pytest.raises(ValidationError) as error:
        normalise("shop", {**base, **args})
    return {p.field: p for p in error.value.problems}


def test_a_backup_is_a_nightly_cron_job_that_dumps_then_uploads():
    job = cron()
    assert job["metadata"]["name"] == "shop-backup"
    assert (job["spec"]["schedule"], job["spec"]["concurrencyPolicy"]) == ("0 2 * * *", "Forbid")
    spec = pod(job)
    (dump,), (upload,) = spec["initContainers"], spec["containers"]
    assert dump["image"].startswith("public.ecr.aws/docker/library/postgres:17"), (
        "pg_dump's major is the server's"
    )
    assert (
        "pg_dump --format=custom" in dump["command"][-1]
        and backups.ARCHIVE_CHECK in dump["command"][-1]
    )
    assert "pg_restore --list" not in dump["command"][-1], "--list reads the table of contents only"
    assert upload["image"].startswith("public.ecr.aws/aws-cli/aws-cli:")
    script = upload["command"][-1]
    assert 'aws s3 cp "$DUMP_DIR/dump" "$final"' in script
    # aws-cli v2's S3-to-S3 move reads the source's tags from 8 MiB on (#25): no move, no temp key.
    assert "aws s3 mv" not in script and "incoming" not in script
    assert spec["serviceAccountName"] == "shop-backup" and spec["restartPolicy"] == "Never"


def test_the_dump_volume_is_a_claim_of_the_databases_class_and_size_not_the_nodes_disk():
    spec = pod(cron(database={"storage_size": "200Gi", "storage_class": "gp3-encrypted"}))
    (volume,) = [v for v in spec["volumes"] if v["name"] == "dump"]
    claim = volume["ephemeral"]["volumeClaimTemplate"]
    assert claim["spec"] == {
        "accessModes": ["ReadWriteOnce"],
        "storageClassName": "gp3-encrypted",
        "resources": {"requests": {"storage": "200Gi"}},
    }
    assert claim["metadata"]["labels"]["app.kubernetes.io/component"] == "backup"
    (dump,) = spec["initContainers"]
    # A 200 GiB request of the node's ephemeral storage would make the pod unschedulable on
    # EKS managed nodes (20 GiB root disks by default).
    assert "ephemeral-storage" not in json.dumps(dump["resources"])


def test_without_a_storage_class_the_dump_claim_takes_the_clusters_default():
    (volume,) = [v for v in pod(cron())["volumes"] if v["name"] == "dump"]
    assert "storageClassName" not in volume["ephemeral"]["volumeClaimTemplate"]["spec"]


def test_only_the_upload_step_holds_cloud_credentials_and_only_the_dump_the_password():
    spec = pod(cron())
    (dump,), (upload,) = spec["initContainers"], spec["containers"]
    dump_env = {e["name"] for e in dump["env"]}
    upload_env = {e["name"]: e.get("value") for e in upload["env"]}
    assert not any(n.startswith("AWS_") for n in dump_env)
    assert (
        upload_env["AWS_ROLE_ARN"] == BACKUP_REFS.role_arn
        and upload_env["AWS_ROLE_SESSION_NAME"] == "shop-backup"
    )
    assert "password" not in {m["name"] for m in upload["volumeMounts"]}
    assert "aws-token" not in {m["name"] for m in dump["volumeMounts"]}


def test_with_pod_identity_the_webhook_skips_the_database_steps():
    job = backup_pod.cron_job(normalise("shop", {**POD_IDENTITY, "backups": {}}), BACKUP_REFS)
    annotations = job["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["annotations"]
    assert annotations["eks.amazonaws.com/skip-containers"] == "dump,restore"


def test_the_restore_job_downloads_then_restores_once_into_a_new_database_then_swaps():
    job = backup_pod.restore_job(
        normalise("shop", {**MINIMAL, "backups": {}}), BACKUP_REFS, key="shop/shop/postgres/x.dump"
    )
    assert job["spec"]["backoffLimit"] == 0
    spec = job["spec"]["template"]["spec"]
    (download,), (restore,) = spec["initContainers"], spec["containers"]
    assert {"name": "BACKUP_KEY", "value": "shop/shop/postgres/x.dump"} in download["env"]
    script = restore["command"][-1]
    assert '--exit-on-error --no-owner --role "$PGUSER" --dbname "$new"' in script
    assert "--clean" not in script, "nothing is dropped before the archive is in"
    assert (
        script.index('CREATE DATABASE :"new"')
        < script.index("pg_restore --exit-on-error")
        < script.index('RENAME TO :"old"')
    )


@pytest.mark.parametrize("version", ["1.32.0", "1.37.0"])
def test_backup_and_restore_objects_pass_the_strict_schemas(version):
    s = normalise("shop", {**MINIMAL, "backups": {}})
    for obj in (
        backup_pod.cron_job(s, BACKUP_REFS),
        backup_pod.restore_job(s, BACKUP_REFS),
        backup_pod.service_account(s),
    ):
        kubernetes_validate.validate(obj, version, strict=True)


def test_the_component_registers_a_backup_bucket_role_and_cron_job_after_them():
    run = run_program(
        lambda: (
            DjangoApp(
                "shop", {**MINIMAL, "backups": {"retention_days": 7}, "protect_data": True}
            ).backup_bucket_name
        )
    )
    bucket = run.one("s3/bucket:Bucket", "shop-backups-bucket")
    assert bucket.protect and bucket.retain_on_delete
    job = run.one("batch/v1:CronJob")
    assert {bucket.urn, run.one("iam/rolePolicy:RolePolicy", "shop-backup-policy").urn} <= set(
        job.dependencies
    )
    rules = run.one("BucketLifecycleConfiguration", "shop-backups-lifecycle").inputs["rules"]
    expiry = {
        r["filter"].get("prefix"): r["expiration"]["days"] for r in rules if "expiration" in r
    }
    assert expiry == {"shop/shop/postgres/": 7, "shop/shop/postgres/incoming/": 1}
    trust = json.loads(run.one("iam/role:Role", "shop-backup-role").inputs["assumeRolePolicy"])
    subject = next(iter(trust["Statement"][0]["Condition"]["StringEquals"].items()))
    assert subject[1] == "system:serviceaccount:shop:shop-backup"
    policy = json.loads(run.one("iam/rolePolicy:RolePolicy", "shop-backup-policy").inputs["policy"])
    (objects,) = policy["Statement"]
    assert objects["Sid"] == "WriteOwnBackups" and objects["Resource"].endswith(
        "/shop/shop/postgres/*"
    )
    assert objects["Action"] == ["s3:PutObject", "s3:AbortMultipartUpload"], (
        "write only: a restore reads through its own role"
    )
    assert not any("secretsmanager" in json.dumps(s) for s in policy["Statement"])


def test_backup_pods_reach_the_database_and_the_database_admits_them():
    run = run_program(lambda: DjangoApp("shop", {**MINIMAL, "backups": {}}).namespace)
    policies = {
        r.inputs["metadata"]["name"]: r.inputs["spec"] for r in run.of_type("NetworkPolicy")
    }
    backup = policies["shop-backup"]
    assert (
        backup["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "backup"
        and "ingress" not in backup
    )
    admitted = [
        p["podSelector"]["matchLabels"]["app.kubernetes.io/component"]
        for p in policies["shop-postgres"]["ingress"][0]["from"]
    ]
    assert "backup" in admitted


@pytest.mark.parametrize(
    "base, value, field",
    [
        (MINIMAL, {"schedule": "every night"}, "backups.schedule"),
        (MINIMAL, {"retention_days": 0}, "backups.retention_days"),
        (MINIMAL, {"time_zone": "Mars/Olympus"}, "backups.time_zone"),
        (MINIMAL, {"keep": 3}, "backups.keep"),
        (KUBERNETES_ONLY, {}, "backups"),
    ],
)
def test_backups_cannot_be_what_would_not_run(base, value, field):
    assert field in refused(base, backups=value)


def test_an_existing_server_cannot_get_component_backups():
    problems = refused(backups={}, database={"host": "db.example.com"})
    assert "keeps backups of its own" in problems["backups"].allowed


def _restore(root, tmp_path, *args):
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-m", "pulumi_djangoapp.restore", *args, "--out", str(tmp_path / "restore-job.yaml")],
        cwd=root, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


ROLE = "arn:aws:iam::222222222222:role/shop-backup-role-1"


def test_the_restore_command_writes_a_valid_job_and_a_runbook_that_stops_every_writer_first(
    root, tmp_path
):
    import yaml

    result = _restore(
        root, tmp_path, "--stack", "staging", "--bucket", "shop-backups-1", "--role-arn", ROLE
    )
    assert result.returncode == 0, result.stderr
    job = yaml.safe_load((tmp_path / "restore-job.yaml").read_text())
    kubernetes_validate.validate(job, "1.32.0", strict=True)
    download = job["spec"]["template"]["spec"]["initContainers"][0]
    env = {e["name"]: e["value"] for e in download["env"]}
    assert (env["BACKUP_BUCKET"], env["AWS_ROLE_ARN"], env["BACKUP_PREFIX"]) == (
        "shop-backups-1",
        ROLE,
        "shop-staging/shop/postgres",
    )
    text = result.stdout
    steps = [
        text.index(marker)
        for marker in (
            "scale deployment shop-worker --replicas=0",
            'suspend":true',
            "wait --for=delete",
            "kubectl apply -f",
            'suspend":false',
        )
    ]
    assert steps == sorted(steps), (
        "writers stop, CronJobs pause, then the restore, then everything back"
    )
    for writer in ("shop ", "shop-worker ", "shop-beat "):
        assert f"scale deployment {writer}--replicas=0" in text
    for cron_job in ("shop-clearsessions", "shop-backup"):
        assert f"patch cronjob {cron_job} -p" in text


def test_the_restore_command_cannot_restore_a_stack_without_backups_or_a_foreign_key(
    root, tmp_path
):
    result = _restore(root, tmp_path, "--stack", "dev", "--bucket", "b", "--role-arn", ROLE)
    assert result.returncode == 2 and "has no backups" in result.stderr
    result = _restore(
        root,
        tmp_path,
        "--stack",
        "staging",
        "--bucket",
        "bkt",
        "--role-arn",
        ROLE,
        "--key",
        "other-app/postgres/x.dump",
    )
    assert result.returncode == 2 and "not under this app's prefix" in result.stderr
    assert not (tmp_path / "restore-job.yaml").exists()


def test_the_restore_command_cannot_take_a_malformed_role_arn_or_bucket_and_names_both(
    root, tmp_path
):
    # #27: a role name pasted for --role-arn reached the Job.
    result = _restore(
        root,
        tmp_path,
        "--stack",
        "staging",
        "--bucket",
        "Shop_Backups",
        "--role-arn",
        "shop-backup-role-1",
    )
    assert result.returncode == 2 and not (tmp_path / "restore-job.yaml").exists()
    assert "--role-arn 'shop-backup-role-1' is not an IAM role ARN" in result.stderr
    assert "--bucket 'Shop_Backups' is not an S3 bucket name" in result.stderr


def test_the_runbook_says_the_replaced_database_is_kept_and_how_to_drop_it(root, tmp_path):
    result = _restore(
        root, tmp_path, "--stack", "staging", "--bucket", "shop-backups-1", "--role-arn", ROLE
    )
    assert "kept as" in result.stdout and "DROP DATABASE" in result.stdout
    assert "drops and re-creates" not in result.stdout


def test_with_pod_identity_the_backup_service_account_gets_its_own_association_first():
    run = run_program(lambda: DjangoApp("shop", {**POD_IDENTITY, "backups": {}}).backup_role_arn)
    association = run.one(
        "eks/podIdentityAssociation:PodIdentityAssociation", "shop-backup-pod-identity"
    )
    assert association.inputs["serviceAccount"] == "shop-backup"
    assert association.urn in run.one("batch/v1:CronJob", "shop-backup").dependencies
    trust = json.loads(run.one("iam/role:Role", "shop-backup-role").inputs["assumeRolePolicy"])
    assert trust["Statement"][0]["Principal"] == {"Service": "pods.eks.amazonaws.com"}


def test_backup_pods_cannot_reach_the_broker():
    run = run_program(lambda: DjangoApp("shop", {**MINIMAL, "backups": {}, "broker": {}}).namespace)
    policies = {
        r.inputs["metadata"]["name"]: r.inputs["spec"] for r in run.of_type("NetworkPolicy")
    }
    ports = {p["port"] for rule in policies["shop-backup"]["egress"] for p in rule.get("ports", [])}
    assert ports == {53, 5432, 443}
    web_ports = {
        p["port"] for rule in policies["shop-web"]["egress"] for p in rule.get("ports", [])
    }
    assert 6379 in web_ports, "the app's own pods still reach it"


def test_the_restore_job_reads_through_its_own_read_only_role():
    # #27: a restore used the backup role, which can write archives.
    run = run_program(lambda: DjangoApp("shop", {**MINIMAL, "backups": {}}).restore_role_arn)
    policy = json.loads(
        run.one("iam/rolePolicy:RolePolicy", "shop-restore-policy").inputs["policy"]
    )
    actions = {
        a
        for st in policy["Statement"]
        for a in ([st["Action"]] if isinstance(st["Action"], str) else st["Action"])
    }
    assert actions == {"s3:GetObject", "s3:ListBucket"}
    trust = json.loads(run.one("iam/role:Role", "shop-restore-role").inputs["assumeRolePolicy"])
    assert "system:serviceaccount:shop:shop-restore" in json.dumps(trust)
    assert run.result.startswith("arn:aws:iam::") and "shop-restore-role" in run.result
    accounts = [r.inputs["metadata"]["name"] for r in run.of_type("core/v1:ServiceAccount")]
    assert "shop-restore" in accounts
    job = backup_pod.restore_job(normalise("shop", {**MINIMAL, "backups": {}}), BACKUP_REFS)
    assert job["spec"]["template"]["spec"]["serviceAccountName"] == "shop-restore"
    assert (
        backup_pod.cron_job(normalise("shop", {**MINIMAL, "backups": {}}), BACKUP_REFS)["spec"][
            "jobTemplate"
        ]["spec"]["template"]["spec"]["serviceAccountName"]
        == "shop-backup"
    )

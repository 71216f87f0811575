"""RDS: the instance's arguments, the security group, the role Job, TLS, egress and refusals."""

import dataclasses
import json

import kubernetes_validate
import pulumi
import pytest
from conftest import KUBERNETES_ONLY, MINIMAL, POD_IDENTITY, REFS
from harness import MOCK_VPC, RecordingMocks, fake_password, is_secret, run_program

from pulumi_djangoapp import DjangoApp
from pulumi_djangoapp.builders import rds
from pulumi_djangoapp.settings import normalise
from pulumi_djangoapp.settings import rds as rds_settings
from pulumi_djangoapp.settings.checks import ValidationError

SUBNETS = ["subnet-0a1b2c3d", "subnet-0a1b2c3e"]
RDS = {
    "provider": "rds",
    "rds": {"subnet_ids": SUBNETS, "client_security_group_ids": ["sg-0c1d2e3f"]},
}
PASSWORD = fake_password("shop-secrets-db-password", 32)
KMS = "arn:aws:kms:eu-west-3:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def app(base=MINIMAL, database=None, **args):
    return run_program(
        lambda: DjangoApp("shop", {**base, "database": database or RDS, **args}).database_endpoint
    )


def refused(base=MINIMAL, **args):
    with pytest.raises(ValidationError) as error:
        normalise("shop", {**base, **args})
    return {p.field: p for p in error.value.problems}


def with_rds(**rds_args):
    return {"provider": "rds", "rds": {**RDS["rds"], **rds_args}}


def pod_containers(run, name):
    spec = run.named(name).inputs["spec"]["template"]["spec"]
    return {c["name"]: c for c in [*spec.get("initContainers", []), *spec["containers"]]}


# --- The instance -------------------------------------------------------------------------


def test_an_rds_app_gets_an_encrypted_private_postgresql_17_instance_with_kept_backups():
    run = app(protect_data=True)
    instance = run.one("rds/instance:Instance")
    i = instance.inputs
    assert (i["engine"], i["engineVersion"], i["storageType"]) == ("postgres", "17", "gp3")
    assert i["storageEncrypted"] is True and i["publiclyAccessible"] is False
    assert (i["allocatedStorage"], i["maxAllocatedStorage"]) == (20, 100)
    assert i["backupRetentionPeriod"] == 7 and i["deleteAutomatedBackups"] is False
    assert i["deletionProtection"] is True and i["skipFinalSnapshot"] is False
    assert i["finalSnapshotIdentifier"] == "shop-final-a1b2c3d4"
    assert i["multiAz"] is True, "protect_data's stacks get a standby"
    assert i["manageMasterUserPassword"] is True and "password" not in i
    assert i["enabledCloudwatchLogsExports"] == ["postgresql", "upgrade"]
    assert i["allowMajorVersionUpgrade"] is False
    assert instance.protect and instance.retain_on_delete
    assert run.result == "shop-database-instance.c9akciq32.eu-west-3.rds.amazonaws.com"


def test_an_unprotected_rds_instance_can_be_deleted_without_a_snapshot_and_has_no_standby():
    i = app().one("rds/instance:Instance")
    assert i.inputs["deletionProtection"] is False and i.inputs["skipFinalSnapshot"] is True
    assert i.inputs["multiAz"] is False and "finalSnapshotIdentifier" not in i.inputs
    assert not i.protect


def test_the_app_kms_key_encrypts_storage_the_master_secret_and_insights():
    i = (
        app(kms_key_arn=KMS, database=with_rds(performance_insights=True))
        .one("rds/instance:Instance")
        .inputs
    )
    assert i["kmsKeyId"] == i["masterUserSecretKmsKeyId"] == i["performanceInsightsKmsKeyId"] == KMS
    assert i["performanceInsightsEnabled"] is True


def test_sizes_versions_and_retention_are_arguments():
    i = app(
        database=with_rds(engine_version="16.4", instance_class="db.r7g.large", allocated_storage_gb=50,
                          max_allocated_storage_gb=500, backup_retention_days=35, multi_az=True, log_exports=["postgresql"])
    ).one("rds/instance:Instance").inputs  # fmt: skip
    assert (
        i["engineVersion"],
        i["instanceClass"],
        i["allocatedStorage"],
        i["maxAllocatedStorage"],
    ) == ("16.4", "db.r7g.large", 50, 500)
    assert (i["backupRetentionPeriod"], i["multiAz"], i["enabledCloudwatchLogsExports"]) == (
        35,
        True,
        ["postgresql"],
    )


def test_a_major_upgrade_can_be_allowed_for_the_change_that_makes_it():
    assert app().one("rds/instance:Instance").inputs["allowMajorVersionUpgrade"] is False
    upgrade = (
        app(database=with_rds(engine_version="18", allow_major_version_upgrade=True))
        .one("rds/instance:Instance")
        .inputs
    )
    assert (upgrade["engineVersion"], upgrade["allowMajorVersionUpgrade"]) == ("18", True)


def test_the_parameter_group_follows_the_major_version_and_pins_tls():
    run = app(database=with_rds(engine_version="16.4"))
    group = run.one("rds/parameterGroup:ParameterGroup")
    assert group.inputs["family"] == "postgres16"
    parameters = {p["name"]: p for p in group.inputs["parameters"]}
    assert parameters["rds.force_ssl"]["value"] == "1"
    assert parameters["log_statement"]["value"] == "none", "ALTER ROLE carries a password"
    assert group.urn in run.one("rds/instance:Instance").dependencies


def test_the_subnet_group_holds_the_given_subnets_and_the_instance_uses_it_and_the_parameters():
    run = app()
    assert run.one("rds/subnetGroup:SubnetGroup").inputs["subnetIds"] == SUBNETS
    instance = run.one("rds/instance:Instance").inputs
    assert instance["dbSubnetGroupName"] == "shop-database-subnets-7d6c5b"
    assert instance["parameterGroupName"] == "shop-database-params-7d6c5b"


def test_the_security_group_admits_only_the_given_sources_on_the_database_port_and_opens_nothing():
    group = app(database={**with_rds(), "port": 6432}).one("ec2/securityGroup:SecurityGroup")
    (rule,) = group.inputs["ingress"]
    assert (rule["protocol"], rule["fromPort"], rule["toPort"]) == ("tcp", 6432, 6432)
    assert rule["securityGroups"] == ["sg-0c1d2e3f"]
    assert not rule.get("cidrBlocks") and not rule.get("ipv6CidrBlocks") and not rule.get("self")
    assert group.inputs["egress"] == []
    assert group.inputs["vpcId"] == MOCK_VPC, "the subnets' VPC, looked up"


def test_subnets_of_two_vpcs_cannot_make_one_database():
    with pytest.raises(Exception, match="VPCs"):
        app(database=with_rds(subnet_ids=["subnet-0a1b2c3d", "subnet-0a1b2cff"]))


def test_subnet_and_security_group_ids_may_be_outputs_of_a_platform_stack():
    def program():
        ids = pulumi.Output.from_input(SUBNETS)
        groups = pulumi.Output.from_input(["sg-0c1d2e3f"])
        return DjangoApp(
            "shop",
            {
                **MINIMAL,
                "database": {
                    "provider": "rds",
                    "rds": {"subnet_ids": ids, "client_security_group_ids": groups},
                },
            },
        ).database_endpoint

    run = run_program(program)
    assert run.one("rds/subnetGroup:SubnetGroup").inputs["subnetIds"] == SUBNETS
    assert run.one("ec2/securityGroup:SecurityGroup").inputs["ingress"][0]["securityGroups"] == [
        "sg-0c1d2e3f"
    ]


def test_an_output_of_one_subnet_is_refused_once_known():
    def program():
        return DjangoApp(
            "shop",
            {
                **MINIMAL,
                "database": with_rds(subnet_ids=pulumi.Output.from_input(["subnet-0a1b2c3d"])),
            },
        ).database_endpoint

    with pytest.raises(Exception, match="database.rds.subnet_ids"):
        run_program(program)


# --- Credentials and TLS ------------------------------------------------------------------


def test_the_app_url_verifies_the_rds_server_with_the_downloaded_ca_bundle():
    run = app()
    versions = {r.name: r.inputs["secretString"] for r in run.of_type(":SecretVersion")}
    host = "shop-database-instance.c9akciq32.eu-west-3.rds.amazonaws.com"
    url = f"postgres://shop:{PASSWORD}@{host}:5432/shop?sslmode=verify-full&sslrootcert=/run/secrets/app/rds-ca.pem"
    assert versions["shop-secrets-database-url-version"] == url
    document = json.loads(versions["shop-secrets-database-json-version"])
    assert (document["host"], document["sslmode"], document["sslrootcert"]) == (
        host,
        "verify-full",
        "/run/secrets/app/rds-ca.pem",
    )
    fetch_secrets = pod_containers(run, "shop-deployment")["fetch-secrets"]
    env = {e["name"]: e["value"] for e in fetch_secrets["env"]}
    assert (
        env["CA_BUNDLE_URL"]
        == "https://truststore.pki.rds.amazonaws.com/eu-west-3/eu-west-3-bundle.pem"
    )
    assert 'download_ca "$CA_BUNDLE_URL" "$SECRETS_DIR/rds-ca.pem"' in fetch_secrets["command"][-1]


def test_in_cluster_and_external_urls_have_no_tls_parameters_and_no_bundle_download():
    for database in (None, {"host": "db.example.internal"}):
        run = run_program(
            lambda database=database: (
                DjangoApp(
                    "shop", {**MINIMAL, **({"database": database} if database else {})}
                ).namespace
            )
        )
        url = next(
            r.inputs["secretString"]
            for r in run.of_type(":SecretVersion")
            if r.name == "shop-secrets-database-url-version"
        )
        assert "sslmode" not in url
        env = {e["name"] for e in pod_containers(run, "shop-deployment")["fetch-secrets"]["env"]}
        assert "CA_BUNDLE_URL" not in env


def test_no_password_of_an_rds_app_is_in_plain_state_or_env():
    run = app()
    for version in run.of_type(":SecretVersion"):
        assert is_secret(version.raw_inputs["secretString"]), version.name
    for registration in run.registrations:
        if registration.name.startswith("shop-secrets-"):
            continue
        assert PASSWORD not in json.dumps(registration.raw_inputs, default=str), registration.name
    instance = run.one("rds/instance:Instance").inputs
    assert not {"password", "passwordWo"} & set(instance)


def test_the_wait_step_targets_the_rds_address():
    env = {
        e["name"]: e["value"]
        for e in pod_containers(app(), "shop-deployment")["wait-for-db"]["env"]
    }
    assert env["DB_HOST"] == "shop-database-instance.c9akciq32.eu-west-3.rds.amazonaws.com"


# --- The role Job -------------------------------------------------------------------------


def test_the_role_job_fetches_with_its_own_role_then_creates_the_role_without_credentials():
    run = app()
    job = run.named("shop-db-role")
    spec = job.inputs["spec"]["template"]["spec"]
    assert spec["serviceAccountName"] == "shop-db-admin" and spec["restartPolicy"] == "Never"
    (fetch,), (create,) = spec["initContainers"], spec["containers"]
    fetch_env = {e["name"]: e["value"] for e in fetch["env"]}
    assert fetch_env["AWS_ROLE_ARN"] == "arn:aws:iam::123456789012:role/shop-db-admin-role-9f8e7d"
    assert fetch_env["MASTER_SECRET_ID"].startswith(
        "arn:aws:secretsmanager:eu-west-3:123456789012:secret:rds!db-"
    )
    assert fetch_env["DATABASE_SECRET_ID"].endswith("shop-secrets-database-json-AbCdEf")
    assert fetch["image"].startswith("public.ecr.aws/aws-cli/aws-cli:")
    create_env = {e["name"] for e in create["env"]}
    assert not {n for n in create_env if n.startswith("AWS_")}
    assert {m["name"] for m in create["volumeMounts"]} == {"work", "tmp"}
    assert all(m.get("readOnly") for m in create["volumeMounts"] if m["name"] == "work")
    work = next(v for v in spec["volumes"] if v["name"] == "work")
    assert work["emptyDir"]["medium"] == "Memory"
    assert "PGSSLMODE=verify-full" in create["command"][-1]
    assert job.inputs["metadata"]["annotations"]["pulumi.com/replaceUnready"] == "true"


def test_the_role_job_runs_after_the_instance_and_before_anything_connects():
    run = app(migrations="job", processes=[{"name": "worker", "command": ["celery", "worker"]}])
    job = run.named("shop-db-role")
    assert any(d.endswith("shop-database-instance") for d in job.dependencies)
    assert any(d.endswith("shop-db-admin-policy") for d in job.dependencies)
    for name in ("shop-migration-job", "shop-deployment", "shop-process-worker"):
        assert job.urn in run.named(name).dependencies, name


def test_the_admin_role_reads_only_the_master_and_the_database_secret():
    run = app(kms_key_arn=KMS)
    policy = json.loads(run.named("shop-db-admin-policy").inputs["policy"])
    secrets = next(s for s in policy["Statement"] if s["Action"] == "secretsmanager:GetSecretValue")
    assert len(secrets["Resource"]) == 2
    assert secrets["Resource"][0].split(":secret:")[1].startswith("rds!db-")
    assert secrets["Resource"][1].endswith("shop-secrets-database-json-AbCdEf")
    assert [s["Resource"] for s in policy["Statement"] if s["Action"] == "kms:Decrypt"] == [KMS]
    trust = json.loads(run.named("shop-db-admin-role").inputs["assumeRolePolicy"])
    condition = json.dumps(trust["Statement"][0]["Condition"])
    assert "system:serviceaccount:shop:shop-db-admin" in condition


def test_with_pod_identity_only_the_fetch_step_of_the_role_job_gets_credentials():
    run = app(base=POD_IDENTITY)
    job = run.named("shop-db-role")
    assert (
        job.inputs["spec"]["template"]["metadata"]["annotations"][
            "eks.amazonaws.com/skip-containers"
        ]
        == "create-role"
    )
    association = run.named("shop-db-admin-pod-identity").inputs
    assert association["serviceAccount"] == "shop-db-admin"


def test_the_role_sql_never_puts_the_password_on_a_command_line():
    assert '`cat "$WORK_DIR/app-password-verifier"`' in rds.ROLE_SQL
    assert "\\unset app_password" in rds.ROLE_SQL
    psql = rds.CREATE_ROLE_SCRIPT.split("<<'SQL'")[0].split("psql ", 1)[1]
    assert "password" not in psql.lower(), "psql's arguments hold names, never a password"


# --- Network ------------------------------------------------------------------------------


def test_every_client_reaches_rds_on_its_subnets_cidrs_not_on_an_address():
    run = app(
        migrations="job",
        schedules=[
            {
                "name": "sessions",
                "schedule": "0 3 * * *",
                "command": ["python", "manage.py", "clearsessions"],
            }
        ],
    )
    for policy in ("web", "migrate", "schedules", "db-admin"):
        egress = run.named(f"shop-netpol-{policy}").inputs["spec"]["egress"]
        (database,) = [r for r in egress if {"port": 5432, "protocol": "TCP"} in r["ports"]]
        assert database["to"] == [
            {"ipBlock": {"cidr": "10.0.61.0/24"}},
            {"ipBlock": {"cidr": "10.0.62.0/24"}},
        ], policy
    assert not [r for r in run.registrations if r.name == "shop-netpol-postgres"]


def test_the_role_job_policy_allows_no_broker():
    run = app(broker={})
    egress = run.named("shop-netpol-db-admin").inputs["spec"]["egress"]
    assert not [r for r in egress if {"port": 6379, "protocol": "TCP"} in r["ports"]]
    web = run.named("shop-netpol-web").inputs["spec"]["egress"]
    assert [r for r in web if {"port": 6379, "protocol": "TCP"} in r["ports"]]


def test_an_rds_app_has_no_server_in_the_cluster():
    run = app()
    assert not run.of_type(":StatefulSet")
    assert not [r for r in run.registrations if "postgres" in r.name]


def test_the_role_job_is_schema_valid_for_every_supported_minor():
    job = app().named("shop-db-role").inputs
    manifest = {"apiVersion": "batch/v1", "kind": "Job", **{k: v for k, v in job.items()}}
    for version in ("1.32.0", "1.34.0"):
        kubernetes_validate.validate(manifest, version, strict=True)


# --- Outputs and refusals -----------------------------------------------------------------


def test_outputs_name_the_endpoint_port_and_master_secret_but_hold_no_password():
    run = run_program(
        lambda: pulumi.Output.all(
            *[
                getattr(a, k)
                for a in [DjangoApp("shop", {**MINIMAL, "database": RDS})]
                for k in ("database_endpoint", "database_port", "database_master_secret_arn")
            ]
        )
    )
    endpoint, port, secret = run.result
    assert endpoint.endswith(".rds.amazonaws.com") and port == 5432 and ":secret:rds!db-" in secret


def test_other_providers_have_no_rds_outputs():
    run = run_program(lambda: DjangoApp("shop", MINIMAL).database_master_secret_arn)
    assert run.result is None


@pytest.mark.parametrize(
    ("database", "field", "message"),
    [
        ({"provider": "cloud"}, "database.provider", "in-cluster, rds, external"),
        ({"provider": "external"}, "database.host", "is required with provider 'external'"),
        ({**RDS, "host": "db.example.com"}, "database.host", "only applies to provider 'external'"),
        (
            {**RDS, "storage_size": "20Gi"},
            "database.storage_size",
            "only applies to the in-cluster server",
        ),
        ({"rds": RDS["rds"]}, "database.rds", "only applies to provider 'rds'"),
        ({"provider": "rds"}, "database.rds.subnet_ids", "is required with provider 'rds'"),
        (
            with_rds(subnet_ids=["subnet-0a1b2c3d"]),
            "database.rds.subnet_ids",
            "at least 2 distinct",
        ),
        (
            with_rds(subnet_ids=["subnet-0a1b2c3d", "subnet-0a1b2c3d"]),
            "database.rds.subnet_ids",
            "distinct",
        ),
        (
            with_rds(subnet_ids=["subnet-0a1b2c3d", "subnet-0a1b2c3d-x"]),
            "database.rds.subnet_ids",
            "ids such as",
        ),
        (
            with_rds(client_security_group_ids=[]),
            "database.rds.client_security_group_ids",
            "at least 1",
        ),
        (
            with_rds(client_security_group_ids=["sg-0a1b2c3"]),
            "database.rds.client_security_group_ids",
            "ids such as",
        ),
        (with_rds(engine_version="14"), "database.rds.engine_version", "15 or newer"),
        (with_rds(engine_version="17.x"), "database.rds.engine_version", "major.minor"),
        (with_rds(instance_class="t4g.medium"), "database.rds.instance_class", "db.t4g.medium"),
        (with_rds(allocated_storage_gb=10), "database.rds.allocated_storage_gb", "from 20"),
        (
            with_rds(allocated_storage_gb=200, max_allocated_storage_gb=100),
            "database.rds.max_allocated_storage_gb",
            "at least 110 % of allocated_storage_gb (200)",
        ),
        (with_rds(backup_retention_days=1), "database.rds.backup_retention_days", "from 7 to 35"),
        (with_rds(backup_retention_days=36), "database.rds.backup_retention_days", "from 7 to 35"),
        (with_rds(log_exports=["audit"]), "database.rds.log_exports", "postgresql, upgrade"),
        (
            with_rds(master_username="shop"),
            "database.rds.master_username",
            "must differ from database.username",
        ),
        (
            with_rds(master_username="rdsadmin"),
            "database.rds.master_username",
            "a role RDS for PostgreSQL has of its own",
        ),
        (
            with_rds(ca_bundle_url="http://example.com/ca.pem"),
            "database.rds.ca_bundle_url",
            "https://",
        ),
        (with_rds(multi_az="yes"), "database.rds.multi_az", "true or false"),
        (with_rds(instance="big"), "database.rds.instance", "not a known argument"),
        (
            with_rds(client_security_group_ids=["sg-0a1b2c3d-x"]),
            "database.rds.client_security_group_ids",
            "ids such as",
        ),
        (
            with_rds(instance_class="db.t4g.medium-x"),
            "database.rds.instance_class",
            "db.t4g.medium",
        ),
        (
            with_rds(master_username="db-admin"),
            "database.rds.master_username",
            "1 to 16 lower-case letters",
        ),
        (
            with_rds(max_allocated_storage_gb=65537),
            "database.rds.max_allocated_storage_gb",
            "at most 65536",
        ),
    ],
)
def test_bad_rds_input_is_refused_naming_the_field(database, field, message):
    problems = refused(database=database)
    assert field in problems, problems
    assert message in str(problems[field])


def test_rds_cannot_be_used_with_the_kubernetes_backend():
    problems = refused(base=KUBERNETES_ONLY, database=RDS)
    assert "needs the aws-secrets-manager backend" in str(problems["database.provider"])


def test_backups_are_refused_for_rds_which_keeps_its_own():
    problems = refused(database=RDS, backups={})
    assert "keeps backups of its own" in str(problems["backups"])


def test_bad_rds_input_registers_nothing():
    with pytest.raises(ValidationError):
        app(database=with_rds(backup_retention_days=0))


# --- Changing provider --------------------------------------------------------------------


def test_the_provider_marker_is_protected_with_protect_data_so_a_provider_change_is_refused():
    for database in (None, RDS, {"host": "db.example.internal"}):
        run = run_program(
            lambda database=database: (
                DjangoApp(
                    "shop",
                    {
                        **MINIMAL,
                        "protect_data": True,
                        **({"database": database} if database else {}),
                    },
                ).namespace
            )
        )
        marker = run.named("shop-database-provider")
        assert marker.protect, database
        provider = (database or {}).get("provider", "external" if database else "in-cluster")
        assert marker.inputs["keepers"] == {"provider": provider}


def test_the_provider_marker_can_be_replaced_without_protect_data():
    run = run_program(lambda: DjangoApp("shop", MINIMAL).namespace)
    assert not run.named("shop-database-provider").protect


def test_the_final_snapshot_name_is_one_rds_accepts():
    assert rds.snapshot_identifier("shop", "a1b2c3d4") == "shop-final-a1b2c3d4"
    assert rds.snapshot_identifier("9shop--eu", "00ff") == "db-9shop-eu-final-00ff"


def test_the_largest_storage_and_every_log_export_rds_offers_are_accepted():
    s = normalise("shop", {**MINIMAL, "database": with_rds(
        allocated_storage_gb=65536, max_allocated_storage_gb=65536, log_exports=["postgresql", "upgrade", "iam-db-auth-error"])})  # fmt: skip
    assert s.database.rds.max_allocated_storage_gb == 65536
    assert s.database.rds.log_exports == ("postgresql", "upgrade", "iam-db-auth-error")


def built_rds_objects():
    from pulumi_djangoapp.builders import manifests

    refs = dataclasses.replace(
        REFS,
        master_secret_arn="arn:aws:secretsmanager:eu-west-3:1:secret:m",
        db_admin_role_arn="arn:aws:iam::1:role/a",
        database_host="shop.abc.eu-west-3.rds.amazonaws.com",
        database_cidrs=["10.0.1.0/24"],
        ca_bundle_url="https://x/ca.pem",
    )
    values = dict.fromkeys(("password", "database_url", "database_json", "secret_key"), "x")
    return manifests.built_objects(normalise("shop", {**MINIMAL, "database": RDS}), values, refs)


def test_the_role_job_gives_up_after_ten_minutes_and_pulumi_waits_longer():
    from pulumi_djangoapp.components.django_app import await_timeouts

    run = app()
    job = run.named("shop-db-role")
    assert (
        job.inputs["spec"]["activeDeadlineSeconds"] == 600
        and job.inputs["spec"]["backoffLimit"] == 3
    )
    spec = job.inputs["spec"]["template"]["spec"]
    assert [m for m in spec["containers"][0]["volumeMounts"] if m["name"] == "work"] == [
        {"name": "work", "mountPath": "/work", "readOnly": True}
    ]
    assert {"name": "WORK_DIR", "value": "/work"} in spec["initContainers"][0]["env"]
    (facts,) = [b.facts for b in built_rds_objects() if b.role == "db-role"]
    assert facts.await_seconds == 600 and await_timeouts(facts.await_seconds).create == "15m"


# --- What RDS itself refuses (#25 items 5 and 6) ------------------------------------------


@pytest.mark.parametrize(
    "database, field, message",
    [
        (with_rds(master_username="a" * 17), "database.rds.master_username", "1 to 16"),
        (
            with_rds(master_username="_admin"),
            "database.rds.master_username",
            "starting with a letter",
        ),
        (
            with_rds(master_username="1admin"),
            "database.rds.master_username",
            "starting with a letter",
        ),
        (with_rds(master_username="user"), "database.rds.master_username", "reserved word"),
        (with_rds(master_username="select"), "database.rds.master_username", "reserved word"),
        (with_rds(master_username="rds_superuser"), "database.rds.master_username", "of its own"),
        (with_rds(master_username="pg_monitor"), "database.rds.master_username", "of its own"),
        (with_rds(master_username="postgres"), "database.rds.master_username", "of its own"),
        ({**with_rds(), "username": "rdsadmin"}, "database.username", "of its own"),
        ({**with_rds(), "username": "rds_replication"}, "database.username", "of its own"),
        ({**with_rds(), "username": "postgres"}, "database.username", "of its own"),
        ({**with_rds(), "database_name": "postgres"}, "database.database_name", "of its own"),
        ({**with_rds(), "database_name": "template1"}, "database.database_name", "of its own"),
        ({**with_rds(), "database_name": "rdsadmin"}, "database.database_name", "of its own"),
        (
            with_rds(allocated_storage_gb=100, max_allocated_storage_gb=109),
            "database.rds.max_allocated_storage_gb",
            "110 %",
        ),
    ],
)
def test_names_and_sizes_rds_refuses_cannot_reach_the_provider(database, field, message):
    problems = refused(database=database)
    assert field in problems, problems
    assert message in str(problems[field])


@pytest.mark.parametrize("master", ["a" * 16, "admin_1", "dbadmin", "z"])
def test_master_user_names_rds_accepts_can_be_given(master):
    assert (
        normalise(
            "shop", {**MINIMAL, "database": with_rds(master_username=master)}
        ).database.rds.master_username
        == master
    )


def test_the_reserved_words_are_postgresqls_reserved_key_words_only():
    # Non-reserved key words (name, role, admin) are fine master user names.
    assert {"name", "role", "admin", "password"} & rds_settings.RESERVED_WORDS == set()
    assert {"user", "all", "table", "current_user", "system_user"} <= rds_settings.RESERVED_WORDS


def test_an_rds_app_name_must_leave_room_for_the_instance_identifier():
    assert rds_settings.MAX_APP_NAME_LENGTH == 37
    with pytest.raises(ValidationError) as error:
        normalise("a" * 38, {**MINIMAL, "database": RDS})
    assert "at most 37 characters with provider 'rds'" in str(error.value)
    assert normalise("a" * 37, {**MINIMAL, "database": RDS}).database.rds is not None


@pytest.mark.parametrize(
    "allocated, given, sent",
    [
        (20, None, 100),
        (90, None, 100),
        (91, None, 182),
        (100, None, 200),
        (40000, None, 65536),
        (100, 110, 110),
        (100, 100, 0),
        (20, 20, 0),
    ],
)
def test_the_autoscaling_ceiling_is_at_least_110_percent_or_off(allocated, given, sent):
    extra = {} if given is None else {"max_allocated_storage_gb": given}
    i = (
        app(database=with_rds(allocated_storage_gb=allocated, **extra))
        .one("rds/instance:Instance")
        .inputs
    )
    assert (i["allocatedStorage"], i["maxAllocatedStorage"]) == (allocated, sent)
    assert sent == 0 or sent * 100 >= allocated * 110


def test_subnets_of_one_availability_zone_cannot_make_a_subnet_group():
    # 0x3d and 0x40 are both zone b in the mocked DescribeSubnets.
    with pytest.raises(Exception, match="at least two availability zones"):
        app(database=with_rds(subnet_ids=["subnet-0a1b2c3d", "subnet-0a1b2c40"]))


@pytest.mark.parametrize(
    "region, url",
    [
        ("eu-west-3", "https://truststore.pki.rds.amazonaws.com/eu-west-3/eu-west-3-bundle.pem"),
        (
            "us-gov-east-1",
            "https://truststore.pki.us-gov-west-1.rds.amazonaws.com/us-gov-east-1/us-gov-east-1-bundle.pem",
        ),
        (
            "cn-northwest-1",
            "https://rds-truststore.s3.cn-north-1.amazonaws.com.cn/cn-northwest-1/cn-northwest-1-bundle.pem",
        ),
    ],
)
def test_the_ca_bundle_comes_from_the_trust_store_of_the_regions_partition(region, url):
    run = app(aws_region=region)
    env = {
        e["name"]: e["value"]
        for e in pod_containers(run, "shop-deployment")["fetch-secrets"]["env"]
    }
    assert env["CA_BUNDLE_URL"] == url


@pytest.mark.parametrize("region", ["us-iso-east-1", "us-isob-east-1", "eusc-de-east-1"])
def test_a_partition_without_a_documented_trust_store_cannot_default_the_bundle(region):
    problems = refused(database=RDS, aws_region=region, aws_region_check=False)
    assert "uncited" not in str(problems)
    assert "database.rds.ca_bundle_url" in problems and "set database.rds.ca_bundle_url" in str(
        problems["database.rds.ca_bundle_url"]
    )
    given = with_rds(ca_bundle_url="https://pki.example.internal/rds.pem")
    assert normalise(
        "shop", {**MINIMAL, "database": given, "aws_region": region, "aws_region_check": False}
    ).database.rds


def test_a_region_known_only_at_run_time_is_checked_once_known():
    mocks = RecordingMocks()
    original = mocks.call

    def iso_region(args):
        if args.token == "aws:index/getRegion:getRegion":
            return {"region": "us-iso-east-1", "name": "us-iso-east-1", "id": "us-iso-east-1"}, []
        return original(args)

    mocks.call = iso_region
    with pytest.raises(
        Exception, match="database.rds.ca_bundle_url has no default in region 'us-iso-east-1'"
    ):
        run_program(
            lambda: DjangoApp("shop", {**MINIMAL, "database": RDS}).database_endpoint, mocks=mocks
        )


# --- The password reaches PostgreSQL as a SCRAM verifier only (#25 item 4) -----------------


def test_the_scram_verifier_answers_rfc_7677s_exchange():
    """RFC 7677 section 3: user "user", password "pencil", salt W22ZaJ0SNY7soEsUEjb6gQ==, 4096
    iterations. A verifier is right when the RFC's client proof checks against its StoredKey and
    its ServerKey signs the RFC's server signature."""
    import base64
    import hashlib
    import hmac

    verifier = rds.scram_sha256_verifier("pencil", base64.b64decode("W22ZaJ0SNY7soEsUEjb6gQ=="))
    head, keys = verifier.split("$")[1:]
    assert head == "4096:W22ZaJ0SNY7soEsUEjb6gQ=="
    stored_key, server_key = (base64.b64decode(k) for k in keys.split(":"))
    auth = (
        "n=user,r=rOprNGfwEbeRWgbNEkqO,"
        "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,"
        "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
    ).encode()
    proof = base64.b64decode("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
    client_signature = hmac.new(stored_key, auth, "sha256").digest()
    client_key = bytes(a ^ b for a, b in zip(proof, client_signature, strict=True))
    assert hashlib.sha256(client_key).digest() == stored_key
    assert (
        base64.b64encode(hmac.new(server_key, auth, "sha256").digest()).decode()
        == "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
    )


def test_a_wrong_password_cannot_produce_the_same_verifier():
    salt = bytes(16)
    assert rds.scram_sha256_verifier("pencil", salt) != rds.scram_sha256_verifier("pencils", salt)
    assert rds.scram_sha256_verifier("pencil", salt) != rds.scram_sha256_verifier(
        "pencil", b"\x01" * 16
    )


def test_the_role_job_receives_the_verifier_and_the_password_is_never_in_its_sql():
    run = app()
    salt = run.one("randomId:RandomId", "shop-secrets-db-password-salt")
    assert salt.inputs["byteLength"] == 16 and salt.custom
    document = json.loads(
        next(
            r.inputs["secretString"]
            for r in run.of_type(":SecretVersion")
            if r.name == "shop-secrets-database-json-version"
        )
    )
    import base64

    assert document["password_verifier"] == rds.scram_sha256_verifier(
        PASSWORD, base64.b64decode("obLD1KGyw9ShssPUobLD1A==")
    )
    fetch_step = _job_step(run, "fetch-credentials")
    assert (
        '"$app" | jq -ej .password_verifier' in fetch_step
        and '"$app" | jq -ej .password ' not in fetch_step
    )
    assert PASSWORD not in json.dumps(run.named("shop-db-role").inputs)


def test_apps_on_other_databases_get_no_verifier_or_salt():
    run = run_program(lambda: DjangoApp("shop", MINIMAL).namespace)
    assert not run.of_type("randomId:RandomId") or all(
        "salt" not in r.name for r in run.of_type("randomId:RandomId")
    )
    document = json.loads(
        next(
            r.inputs["secretString"]
            for r in run.of_type(":SecretVersion")
            if r.name == "shop-secrets-database-json-version"
        )
    )
    assert "password_verifier" not in document


def _job_step(run, name):
    spec = run.named("shop-db-role").inputs["spec"]["template"]["spec"]
    (found,) = [c for c in [*spec["initContainers"], *spec["containers"]] if c["name"] == name]
    return found["command"][-1]

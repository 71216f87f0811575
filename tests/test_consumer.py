"""examples/consumer: another project that installs the component and deploys two apps."""

import json
import subprocess
import sys

import pytest
import yaml
from harness import RecordingMocks, run_project
from pulumi.output import Unknown

PLATFORM = {
    "acme/platform/dev": {
        "oidcProviderArn": "arn:aws:iam::111111111111:oidc-provider/oidc.eks.eu-west-3.amazonaws.com/id/PLATFORMDEV",
        "oidcProviderUrl": "https://oidc.eks.eu-west-3.amazonaws.com/id/PLATFORMDEV",
        "region": "eu-west-3",
        "databaseSubnetIds": ["subnet-0d1e2f3a4b5c6d701", "subnet-0d1e2f3a4b5c6d702"],
        "clusterSecurityGroupId": "sg-0e1f2a3b4c5d6e701",
    }
}


def consumer_config(root):
    values = yaml.safe_load((root / "examples" / "consumer" / "Pulumi.dev.yaml").read_text())[
        "config"
    ]
    return {**values, "shop-apps:logShipperImage": "cr.fluentbit.io/fluent/fluent-bit:3.2.4"}


def run_consumer(root, platform=PLATFORM, preview=False):
    """The consumer's program as `pulumi up -s dev` (or its first preview) runs it."""
    return run_project(
        root / "examples" / "consumer",
        "dev",
        consumer_config(root),
        mocks=RecordingMocks(platform),
        preview=preview,
    )


def test_two_apps_in_one_program_do_not_collide(root):
    run = run_consumer(root)  # the harness fails on any URN registered twice
    assert sorted(r.name for r in run.of_type("DjangoApp")) == ["admin", "web"]
    namespaces = {r.inputs["metadata"]["name"] for r in run.of_type("core/v1:Namespace")}
    assert namespaces == {"shop-web", "shop-admin"}
    objects = [
        (r.inputs["metadata"].get("namespace"), r.type, r.inputs["metadata"]["name"])
        for r in run.registrations
        if r.type.startswith("kubernetes:")
    ]
    assert len(objects) == len(set(objects))
    roles = run.of_type("iam/role:Role")
    subjects = {
        json.dumps(
            json.loads(r.inputs["assumeRolePolicy"])["Statement"][0]["Condition"]["StringEquals"],
            sort_keys=True,
        )
        for r in roles
    }
    # Each app's fetch role, and web's RDS admin role (the role Job).
    assert len(roles) == 3 and len(subjects) == 3
    assert len(run.of_type("s3/bucket:Bucket")) == 2
    prefixes = {r.inputs["namePrefix"] for r in run.of_type("secretsmanager/secret:Secret")}
    # Three files each, and web's broker URL.
    assert len(prefixes) == 7


def test_consumer_runs_as_its_first_preview_with_cloud_values_unknown(root):
    run = run_consumer(root, preview=True)
    assert sorted(r.name for r in run.of_type("DjangoApp")) == ["admin", "web"]
    fetch = run.one("Deployment", "web-deployment").raw_inputs["spec"]["template"]["spec"][
        "initContainers"
    ][0]
    env = {e["name"]: e.get("value") for e in fetch["env"]}
    assert isinstance(env["AWS_ROLE_ARN"], Unknown)
    assert env["AWS_REGION"] == "eu-west-3"  # read from the platform stack: known at preview


def test_cluster_facts_come_from_the_platform_stack(root):
    run = run_consumer(root)
    trust = json.loads(run.one("iam/role:Role", "web-fetch-role").inputs["assumeRolePolicy"])[
        "Statement"
    ][0]
    assert trust["Principal"]["Federated"] == PLATFORM["acme/platform/dev"]["oidcProviderArn"]
    assert (
        "oidc.eks.eu-west-3.amazonaws.com/id/PLATFORMDEV:sub" in trust["Condition"]["StringEquals"]
    )
    assert run.one("providers:aws").inputs["region"] == "eu-west-3"
    fetch = run.one("Deployment", "web-deployment").inputs["spec"]["template"]["spec"][
        "initContainers"
    ][0]
    assert {"name": "AWS_REGION", "value": "eu-west-3"} in fetch["env"]


def test_admin_has_a_sidecar_and_a_migration_job_and_web_has_neither(root):
    run = run_consumer(root)
    admin = run.one("Deployment", "admin-deployment").inputs["spec"]["template"]["spec"]
    web = run.one("Deployment", "web-deployment").inputs["spec"]["template"]["spec"]
    assert admin["initContainers"][0]["name"] == "log-shipper"
    # web's only Job creates its RDS role; it migrates in its pods.
    assert sorted(j.name for j in run.of_type("batch/v1:Job")) == [
        "admin-migration-job",
        "web-db-role",
        "web-release-gate",
    ]
    assert "log-shipper" not in [c["name"] for c in web["initContainers"]]


def test_mismatched_platform_outputs_fail_with_the_argument_named(root):
    bad = {
        "acme/platform/dev": {
            **PLATFORM["acme/platform/dev"],
            "oidcProviderUrl": "https://oidc.eks.eu-west-3.amazonaws.com/id/OTHER",
        }
    }
    with pytest.raises(Exception) as caught:
        run_consumer(root, bad)
    assert "oidc_provider_url" in str(caught.value) and "same issuer" in str(caught.value)


def test_consumer_renders_offline_with_its_stack_reference_file(root, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "pulumi_djangoapp.render", "--program", "examples/consumer", "--stack", "dev", "--out", str(tmp_path)],
        cwd=root, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    docs = [d for d in yaml.safe_load_all((tmp_path / "kubernetes.yaml").read_text()) if d]
    assert {d["metadata"]["name"] for d in docs if d["kind"] == "Deployment"} == {
        "web",
        "admin",
        "web-worker",
    }
    assert "DjangoApp admin" in result.stdout and "DjangoApp web" in result.stdout


def test_consumer_without_platform_outputs_is_a_clear_render_error(root, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "pulumi_djangoapp.render", "--program", "examples/consumer", "--stack", "dev", "--out", str(tmp_path),
         "--stack-references", str(tmp_path / "missing.yaml")],
        cwd=root, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert (
        result.returncode == 2
        and "missing.yaml" in result.stderr
        and "Traceback" not in result.stderr
    )


def test_consumer_project_installs_the_component_as_a_package(root):
    requirements = (root / "examples" / "consumer" / "requirements.txt").read_text().splitlines()
    assert "../.." in requirements
    project = yaml.safe_load((root / "examples" / "consumer" / "Pulumi.yaml").read_text())
    assert project["runtime"]["name"] == "python"
    assert set(project["config"]) == {
        "platformStack",
        "kubeContext",
        "storageClass",
        "webImage",
        "adminImage",
        "logShipperImage",
    }


def test_consumer_names_its_cluster_and_its_storage_class(root):
    run = run_consumer(root)
    provider = run.one("providers:kubernetes")
    assert provider.inputs["context"] == "platform-dev"
    for statefulset in run.of_type("StatefulSet"):
        assert (
            statefulset.inputs["spec"]["volumeClaimTemplates"][0]["spec"]["storageClassName"]
            == "gp3-encrypted"
        )
        assert statefulset.provider.startswith(provider.urn)


def test_the_web_apps_rds_database_takes_its_network_from_the_platform_stack(root):
    run = run_consumer(root)
    assert (
        run.one("rds/subnetGroup:SubnetGroup").inputs["subnetIds"]
        == PLATFORM["acme/platform/dev"]["databaseSubnetIds"]
    )
    (rule,) = run.one("ec2/securityGroup:SecurityGroup").inputs["ingress"]
    assert rule["securityGroups"] == ["sg-0e1f2a3b4c5d6e701"]
    # The admin app keeps its in-cluster database.
    assert [r.name for r in run.of_type(":StatefulSet") if r.name.endswith("-postgres")] == [
        "admin-postgres"
    ]

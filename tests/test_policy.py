"""The policy pack's validators: quiet on every shipped stack, loud on a bad resource."""

import copy
import json
import sys
from pathlib import Path

import pytest
from pulumi_policy import (
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    StackValidationArgs,
)

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "policy"))
import validators
from test_stack_config import STACKS, run_stack, stack_config


def options():
    return PolicyResourceOptions(False, [], None, [], None, [])


def args_for(resource_type, props, name="r"):
    return ResourceValidationArgs(
        resource_type, props, f"urn:pulumi:s::p::{resource_type}::{name}", name, options(), None
    )


def violations(check, resource_type, props):
    found = []
    check(args_for(resource_type, props), lambda message, urn=None: found.append(message))
    return found


def all_violations(resource_type, props):
    return {
        name: violations(check, resource_type, props)
        for name, (_, check) in validators.RESOURCE_CHECKS.items()
    }


def stack_resources(root, stack):
    run = run_stack(root, stack_config(root, stack))
    return [r for r in run.registrations if r.custom and not r.type.startswith("pulumi:providers")]


@pytest.mark.parametrize("stack", STACKS)
def test_policies_pass_on_every_shipped_stack(root, stack):
    resources = stack_resources(root, stack)
    for r in resources:
        found = {k: v for k, v in all_violations(r.type, r.inputs).items() if v}
        assert found == {}, (r.name, found)
    reported = []
    policy_resources = [
        PolicyResource(r.type, r.inputs, r.urn, r.name, options(), None, None, [], {})
        for r in resources
    ]
    validators.every_bucket_is_guarded(
        StackValidationArgs(policy_resources), lambda m, urn=None: reported.append(m)
    )
    assert reported == []


@pytest.fixture(scope="module")
def dev_deployment(root):
    return run_stack(root, stack_config(root, "dev")).one("Deployment").inputs


@pytest.fixture
def deployment(dev_deployment):
    """A fresh copy per test: each test breaks it in its own way."""
    return copy.deepcopy(dev_deployment)


def django(props):
    return next(c for c in props["spec"]["template"]["spec"]["containers"] if c["name"] == "django")


def test_plain_secret_env_is_caught(deployment):
    django(deployment)["env"].append({"name": "DB_PASSWORD", "value": "hunter2"})
    django(deployment)["env"].append({"name": "DATABASE", "value": "postgres://u:pw@db/x"})
    found = violations(
        validators.no_secret_in_plain_env, "kubernetes:apps/v1:Deployment", deployment
    )
    assert len(found) == 2 and "DB_PASSWORD" in found[0]


def test_secret_file_paths_are_not_secrets(deployment):
    assert (
        violations(validators.no_secret_in_plain_env, "kubernetes:apps/v1:Deployment", deployment)
        == []
    )


def test_unrestricted_container_is_caught(deployment):
    ctx = django(deployment)["securityContext"]
    ctx["allowPrivilegeEscalation"] = True
    ctx["capabilities"] = {"add": ["SYS_ADMIN"]}
    ctx["readOnlyRootFilesystem"] = False
    (message,) = violations(
        validators.containers_restricted, "kubernetes:apps/v1:Deployment", deployment
    )
    assert (
        "allowPrivilegeEscalation" in message
        and "drop ALL" in message
        and "SYS_ADMIN" not in message
    )
    assert "NET_BIND_SERVICE" in message and "readOnlyRootFilesystem" in message


@pytest.mark.parametrize("image", ["shop:latest", "ghcr.io/acme/shop", "localhost:5000/shop"])
def test_unpinned_image_is_caught(deployment, image):
    django(deployment)["image"] = image
    assert violations(validators.images_pinned, "kubernetes:apps/v1:Deployment", deployment)


def test_pinned_images_pass():
    assert all(
        validators.image_is_pinned(i)
        for i in ["a:1", "localhost:5000/a:1.2", "a@sha256:" + "f" * 64]
    )


def test_app_container_with_cloud_credentials_is_caught(deployment):
    django(deployment)["env"].append({"name": "AWS_ROLE_ARN", "value": "arn:aws:iam::1:role/x"})
    django(deployment)["volumeMounts"].append({"name": "aws-token", "mountPath": "/t"})
    found = violations(
        validators.app_has_no_cloud_credentials, "kubernetes:apps/v1:Deployment", deployment
    )
    assert len(found) == 2


def test_automounted_token_in_the_app_pod_is_caught(deployment):
    deployment["spec"]["template"]["spec"]["automountServiceAccountToken"] = True
    assert violations(
        validators.app_has_no_cloud_credentials, "kubernetes:apps/v1:Deployment", deployment
    )


def test_open_bucket_and_unencrypted_bucket_are_caught():
    pab = {
        "bucket": "b",
        "blockPublicAcls": True,
        "blockPublicPolicy": False,
        "ignorePublicAcls": True,
        "restrictPublicBuckets": True,
    }
    assert violations(
        validators.s3_public_access_blocked,
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        pab,
    ) == ["public access block must set blockPublicPolicy to true"]
    sse = {
        "bucket": "b",
        "rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "none"}}],
    }
    assert violations(
        validators.s3_encryption_on,
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        sse,
    )


def test_bucket_without_guards_is_caught_by_the_stack_policy():
    bucket = PolicyResource(
        "aws:s3/bucket:Bucket", {"bucket": "naked"}, "urn:b", "naked", options(), None, None, [], {}
    )
    reported = []
    validators.every_bucket_is_guarded(
        StackValidationArgs([bucket]), lambda m, urn=None: reported.append(m)
    )
    assert reported == [
        "bucket 'naked' has no public access block",
        "bucket 'naked' has no default encryption",
    ]


def test_policy_pack_declares_every_check(root):
    text = (root / "policy" / "__main__.py").read_text()
    assert "RESOURCE_CHECKS" in text and "every_bucket_is_guarded" in text
    assert "runtime" in (root / "policy" / "PulumiPolicy.yaml").read_text()
    json.dumps(list(validators.RESOURCE_CHECKS))


def test_an_unrestricted_cron_job_container_is_caught(root):
    cron = copy.deepcopy(
        run_stack(root, stack_config(root, "staging"))
        .one("batch/v1:CronJob", "shop-schedule-clearsessions")
        .inputs
    )
    assert violations(validators.containers_restricted, "kubernetes:batch/v1:CronJob", cron) == []
    container = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    container["securityContext"]["allowPrivilegeEscalation"] = True
    (message,) = violations(validators.containers_restricted, "kubernetes:batch/v1:CronJob", cron)
    assert "clearsessions" in message and "allowPrivilegeEscalation" in message


# --- RDS ----------------------------------------------------------------------------------

RDS_INSTANCE = "aws:rds/instance:Instance"


@pytest.fixture(scope="module")
def rds_instance():
    """The instance DjangoApp registers for a protected RDS app: what the rules must accept."""
    from conftest import MINIMAL
    from harness import run_program

    from pulumi_djangoapp import DjangoApp

    database = {
        "provider": "rds",
        "rds": {
            "subnet_ids": ["subnet-0a1b2c3d", "subnet-0a1b2c3e"],
            "client_security_group_ids": ["sg-0c1d2e3f"],
        },
    }
    run = run_program(
        lambda: DjangoApp("shop", {**MINIMAL, "protect_data": True, "database": database}).namespace
    )
    instance = run.one("rds/instance:Instance")
    assert instance.protect
    return instance.inputs


def rds_violations(props, protect):
    found = []
    args = ResourceValidationArgs(RDS_INSTANCE, props, "urn:pulumi:s::p::aws:rds/instance:Instance::db", "db",
                                  PolicyResourceOptions(protect, [], None, [], None, []), None)  # fmt: skip
    for name in (
        "rds-encrypted",
        "rds-not-public",
        "rds-backups-kept",
        "rds-protected-when-protected",
    ):
        validators.RESOURCE_CHECKS[name][1](args, lambda message, urn=None: found.append(message))
    return found


def test_the_components_protected_rds_instance_passes_every_rds_rule(rds_instance):
    assert rds_violations(rds_instance, protect=True) == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"storageEncrypted": False}, "must be encrypted"),
        ({"publiclyAccessible": True}, "must not be publicly accessible"),
        ({"backupRetentionPeriod": 0}, "at least 7 days"),
        ({"backupRetentionPeriod": 6}, "at least 7 days"),
        ({"deletionProtection": False}, "deletionProtection: true"),
        ({"skipFinalSnapshot": True}, "final snapshot"),
        ({"deleteAutomatedBackups": True}, "deleteAutomatedBackups: false"),
    ],
)
def test_an_rds_instance_breaking_a_rule_is_caught(rds_instance, change, message):
    (found,) = rds_violations({**rds_instance, **change}, protect=True)
    assert message in found


def test_an_unprotected_instance_may_skip_deletion_protection_but_not_encryption(rds_instance):
    relaxed = {
        **rds_instance,
        "deletionProtection": False,
        "skipFinalSnapshot": True,
        "deleteAutomatedBackups": True,
    }
    assert rds_violations(relaxed, protect=False) == []
    assert rds_violations({**relaxed, "storageEncrypted": False}, protect=False) == [
        "RDS instance storage must be encrypted (storageEncrypted: true)"
    ]


def test_the_policy_pack_reports_rds_violations_over_its_analyzer_service(root, rds_instance):
    """The pack as `pulumi preview --policy-pack` runs it: its program serves the Analyzer gRPC
    service on the port it prints; each resource arrives as an AnalyzeRequest."""
    import subprocess

    import grpc
    from google.protobuf import struct_pb2
    from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

    pack = subprocess.Popen(
        [sys.executable, "__main__.py"], cwd=root / "policy", stdout=subprocess.PIPE, text=True
    )
    try:
        port = int(pack.stdout.readline())
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = analyzer_pb2_grpc.AnalyzerStub(channel)

            def analyze(props, protect):
                properties = struct_pb2.Struct()
                properties.update(props)
                request = analyzer_pb2.AnalyzeRequest(
                    type=RDS_INSTANCE, properties=properties, urn="urn:pulumi:prod::shop::aws:rds/instance:Instance::db",
                    name="db", options=analyzer_pb2.AnalyzerResourceOptions(protect=protect),
                )  # fmt: skip
                return {
                    (d.policyName, d.enforcementLevel)
                    for d in stub.Analyze(request, timeout=30).diagnostics
                }

            assert analyze(rds_instance, protect=True) == set()
            broken = {**rds_instance, "publiclyAccessible": True, "deletionProtection": False}
            mandatory = analyzer_pb2.EnforcementLevel.Value("MANDATORY")
            assert analyze(broken, protect=True) == {
                ("rds-not-public", mandatory),
                ("rds-protected-when-protected", mandatory),
            }
            assert analyze(broken, protect=False) == {("rds-not-public", mandatory)}
    finally:
        pack.kill()
        pack.wait()


@pytest.fixture(scope="module")
def staging_servers(root):
    """The staging stack's broker StatefulSet and cache Deployment, as registered."""
    run = run_stack(root, stack_config(root, "staging"))
    return {
        r.name: r
        for r in run.registrations
        if r.name in ("shop-broker", "shop-cache") and r.type.startswith("kubernetes:apps")
    }


def test_the_components_broker_and_cache_servers_authenticate_from_an_acl_file(staging_servers):
    assert set(staging_servers) == {"shop-broker", "shop-cache"}
    for server in staging_servers.values():
        assert (
            violations(validators.key_value_servers_authenticate, server.type, server.inputs) == []
        )


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda argv: argv.__delitem__(slice(3, 5)), "accepts every client"),
        (lambda argv: argv.extend(["--requirepass", "hunter2"]), "--requirepass"),
    ],
    ids=["no-acl-file", "password-in-spec"],
)
def test_a_key_value_server_without_a_file_password_is_caught(staging_servers, change, message):
    cache = copy.deepcopy(staging_servers["shop-cache"])
    (server,) = cache.inputs["spec"]["template"]["spec"]["containers"]
    assert server["command"][1] == "--port" and server["command"][3] == "--aclfile"
    change(server["command"])
    (found,) = violations(validators.key_value_servers_authenticate, cache.type, cache.inputs)
    assert message in found

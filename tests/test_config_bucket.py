import json

import pytest
from conftest import MINIMAL
from harness import run_program

from pulumi_djangoapp import DjangoApp
from pulumi_djangoapp.config_bucket import ConfigBucket
from pulumi_djangoapp.settings.checks import ValidationError

KEY = "arn:aws:kms:eu-west-3:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def bucket_run(**args):
    return run_program(lambda: ConfigBucket("cfg", args).bucket_name)


def test_every_control_is_its_own_resource_attached_to_the_bucket():
    run = bucket_run(config_files={"a.toml": "x"})
    bucket_id = run.result
    for kind in (
        "BucketPublicAccessBlock", "BucketOwnershipControls", "BucketServerSideEncryptionConfiguration",
        "BucketVersioning", "BucketLifecycleConfiguration", "BucketPolicy", "BucketObjectv2",
    ):  # fmt: skip
        assert run.one(":" + kind).inputs["bucket"] == bucket_id, kind


def test_public_access_is_blocked_on_all_four_flags_and_acls_are_disabled():
    run = bucket_run()
    block = run.one(":BucketPublicAccessBlock").inputs
    assert all(
        block[k] is True
        for k in (
            "blockPublicAcls",
            "blockPublicPolicy",
            "ignorePublicAcls",
            "restrictPublicBuckets",
        )
    )
    assert run.one(":BucketOwnershipControls").inputs["rule"] == {
        "objectOwnership": "BucketOwnerEnforced"
    }


def test_default_encryption_is_sse_kms_with_a_bucket_key():
    (rule,) = bucket_run().one(":BucketServerSideEncryptionConfiguration").inputs["rules"]
    assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "aws:kms"}
    assert rule["bucketKeyEnabled"] is True


def test_customer_key_is_used_when_given():
    (rule,) = (
        bucket_run(kms_key_arn=KEY).one(":BucketServerSideEncryptionConfiguration").inputs["rules"]
    )
    assert rule["applyServerSideEncryptionByDefault"]["kmsMasterKeyId"] == KEY


def test_versioning_is_on_and_old_versions_expire():
    run = bucket_run(noncurrent_version_days=14)
    assert run.one(":BucketVersioning").inputs["versioningConfiguration"]["status"] == "Enabled"
    (rule,) = run.one(":BucketLifecycleConfiguration").inputs["rules"]
    assert rule["status"] == "Enabled"
    assert rule["noncurrentVersionExpiration"]["noncurrentDays"] == 14


def test_policy_denies_every_request_without_tls():
    run = bucket_run()
    (statement,) = json.loads(run.one(":BucketPolicy").inputs["policy"])["Statement"]
    arn = f"arn:aws:s3:::{run.result}"
    assert (
        statement["Effect"] == "Deny"
        and statement["Principal"] == "*"
        and statement["Action"] == "s3:*"
    )
    assert statement["Resource"] == [arn, f"{arn}/*"]
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_force_destroy_is_off_unless_asked_for():
    assert bucket_run().one("s3/bucket:Bucket").inputs.get("forceDestroy") is False
    assert bucket_run(force_destroy=True).one("s3/bucket:Bucket").inputs["forceDestroy"] is True


def test_files_are_uploaded_under_the_prefix(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.json").write_text("{}")
    run = bucket_run(prefix="shop/web", config_dir=str(tmp_path), config_files={"a.toml": "x = 1"})
    objects = {r.inputs["key"]: r.inputs["content"] for r in run.of_type(":BucketObjectv2")}
    assert objects == {"shop/web/a.toml": "x = 1", "shop/web/sub/b.json": "{}"}


def test_protect_sets_protect_and_retain_on_the_bucket():
    bucket = bucket_run(protect=True).one("s3/bucket:Bucket")
    assert bucket.protect and bucket.retain_on_delete
    unprotected = bucket_run().one("s3/bucket:Bucket")
    assert not unprotected.protect and not unprotected.retain_on_delete


def test_bad_bucket_args_register_nothing():
    with pytest.raises(ValidationError) as caught:
        bucket_run(prefix="/abs", force_destroy=True, protect=True, typo=1)
    assert {p.field for p in caught.value.problems} == {"prefix", "force_destroy", "typo"}


def test_config_change_changes_the_pod_template_annotation():
    def annotation(files):
        run = run_program(lambda: DjangoApp("shop", {**MINIMAL, "config_files": files}).namespace)
        return run.one("Deployment").inputs["spec"]["template"]["metadata"]["annotations"][
            "djangoapp.io/config-hash"
        ]

    first = annotation({"a.toml": "x = 1"})
    assert first == annotation({"a.toml": "x = 1"})
    assert first != annotation({"a.toml": "x = 2"})

import json

from pulumi_djangoapp import DjangoApp, workload_identity
from conftest import MINIMAL, OIDC
from harness import MOCK_ACCOUNT, MOCK_REGION, run_program

ISSUER = "oidc.eks.eu-west-3.amazonaws.com/id/5C0FFEE5"


def registered_policies(**args):
    run = run_program(lambda: DjangoApp("shop", {**MINIMAL, **OIDC, **args}).role_arn)
    trust = json.loads(run.one("iam/role:Role").inputs["assumeRolePolicy"])
    access = json.loads(run.one("iam/rolePolicy:RolePolicy").inputs["policy"])
    return run, trust, access


def test_role_trusts_exactly_this_service_account_with_the_sts_audience():
    _, trust, _ = registered_policies(namespace="shop-prod")
    (statement,) = trust["Statement"]
    assert statement["Principal"] == {"Federated": OIDC["oidc_provider_arn"]}
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Condition"] == {
        "StringEquals": {
            f"{ISSUER}:sub": "system:serviceaccount:shop-prod:shop",
            f"{ISSUER}:aud": "sts.amazonaws.com",
        }
    }


def test_role_may_only_read_its_prefix_and_its_own_secrets():
    run, _, access = registered_policies()
    bucket = run.one("s3/bucket:Bucket")
    bucket_arn = f"arn:aws:s3:::{bucket.name}-bucket-1a2b3c"
    secret_arns = sorted(
        f"arn:aws:secretsmanager:{MOCK_REGION}:{MOCK_ACCOUNT}:secret:{r.name}-AbCdEf"
        for r in run.of_type("secretsmanager/secret:Secret")
    )
    by_action = {s["Action"]: s for s in access["Statement"]}
    assert set(by_action) == {"s3:ListBucket", "s3:GetObject", "secretsmanager:GetSecretValue"}
    assert all(s["Effect"] == "Allow" for s in access["Statement"])
    assert by_action["s3:ListBucket"]["Resource"] == bucket_arn
    assert by_action["s3:ListBucket"]["Condition"] == {"StringLike": {"s3:prefix": ["shop/shop/*", "shop/shop"]}}
    assert by_action["s3:GetObject"]["Resource"] == f"{bucket_arn}/shop/shop/*"
    assert sorted(by_action["secretsmanager:GetSecretValue"]["Resource"]) == secret_arns
    assert len(secret_arns) == 3


def test_customer_key_adds_decrypt_on_that_key_only():
    key = "arn:aws:kms:eu-west-3:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    _, _, access = registered_policies(kms_key_arn=key)
    decrypt = [s for s in access["Statement"] if s["Action"] == "kms:Decrypt"]
    assert decrypt == [{"Sid": "DecryptWithAppKey", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": key}]


def test_without_a_customer_key_there_is_no_kms_permission():
    _, _, access = registered_policies()
    assert not [s for s in access["Statement"] if s["Action"].startswith("kms:")]


def test_without_an_oidc_provider_no_role_is_created():
    run = run_program(lambda: DjangoApp("shop", MINIMAL).role_arn)
    assert run.of_type("iam/role:Role") == [] and run.result is None


def test_partition_comes_from_the_provider_arn():
    assert workload_identity.partition_of("arn:aws-cn:iam::123456789012:oidc-provider/x") == "aws-cn"
    policy = workload_identity.access_policy("aws-cn", "b", "p", ["s"])
    assert policy["Statement"][1]["Resource"] == "arn:aws-cn:s3:::b/p/*"

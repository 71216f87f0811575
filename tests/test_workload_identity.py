import json

import pytest
from conftest import KUBERNETES_ONLY, MINIMAL, OIDC, POD_IDENTITY
from harness import MOCK_ACCOUNT, MOCK_REGION, run_program

from pulumi_djangoapp import DjangoApp
from pulumi_djangoapp.builders import workload_identity

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
    assert by_action["s3:ListBucket"]["Condition"] == {
        "StringLike": {"s3:prefix": ["shop/shop/*", "shop/shop"]}
    }
    assert by_action["s3:GetObject"]["Resource"] == f"{bucket_arn}/shop/shop/*"
    assert sorted(by_action["secretsmanager:GetSecretValue"]["Resource"]) == secret_arns
    assert len(secret_arns) == 3


def test_customer_key_adds_decrypt_on_that_key_only():
    key = "arn:aws:kms:eu-west-3:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    _, _, access = registered_policies(kms_key_arn=key)
    decrypt = [s for s in access["Statement"] if s["Action"] == "kms:Decrypt"]
    # #27: only through S3 and Secrets Manager of the key's region, never a direct Decrypt.
    via = {
        "StringEquals": {
            "kms:ViaService": [
                "s3.eu-west-3.amazonaws.com",
                "secretsmanager.eu-west-3.amazonaws.com",
            ]
        }
    }
    assert decrypt == [
        {
            "Sid": "DecryptWithAppKey",
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": key,
            "Condition": via,
        }
    ]


def test_without_a_customer_key_there_is_no_kms_permission():
    _, _, access = registered_policies()
    assert not [s for s in access["Statement"] if s["Action"].startswith("kms:")]


def test_kubernetes_backend_creates_no_role():
    run = run_program(lambda: DjangoApp("shop", KUBERNETES_ONLY).role_arn)
    assert run.of_type("iam/role:Role") == [] and run.result is None


def test_partition_comes_from_the_provider_arn():
    assert (
        workload_identity.partition_of("arn:aws-cn:iam::123456789012:oidc-provider/x") == "aws-cn"
    )
    policy = workload_identity.access_policy("aws-cn", "b", "p", ["s"])
    assert policy["Statement"][1]["Resource"] == "arn:aws-cn:s3:::b/p/*"


# --- the credential path is an explicit choice -------------------------------------------------


def test_an_aws_backend_app_without_a_credential_path_is_refused_before_anything_registers():
    from pulumi_djangoapp.settings.checks import ValidationError

    registered = []

    def build():
        try:
            DjangoApp("shop", {"image": "ghcr.io/acme/shop:1.4.2"})
        except ValidationError as error:
            registered.append(error)

    run = run_program(build)
    assert run.registrations == []
    (error,) = registered
    (problem,) = error.problems
    assert (
        problem.field == "aws_credentials"
        and "web-identity" in problem.allowed
        and "pod-identity" in problem.allowed
    )


@pytest.mark.parametrize(
    "args, field",
    [
        ({"aws_credentials": "ambient"}, "aws_credentials"),
        ({"aws_credentials": "web-identity"}, "oidc_provider_arn"),
        ({"aws_credentials": "pod-identity"}, "eks_cluster_name"),
        ({"aws_credentials": "pod-identity", "eks_cluster_name": "-bad"}, "eks_cluster_name"),
        ({"aws_credentials": "pod-identity", "eks_cluster_name": "c", **OIDC}, "oidc_provider_arn"),
        ({**OIDC, "eks_cluster_name": "c"}, "eks_cluster_name"),
    ],
)
def test_a_credential_path_cannot_be_half_given_or_contradictory(args, field):
    from pulumi_djangoapp.settings import normalise
    from pulumi_djangoapp.settings.checks import ValidationError

    with pytest.raises(ValidationError) as caught:
        normalise("shop", {"image": "ghcr.io/acme/shop:1.4.2", **args})
    assert field in {p.field for p in caught.value.problems}


def pod_identity_run(**args):
    return run_program(
        lambda: DjangoApp("shop", {**POD_IDENTITY, "namespace": "shop-prod", **args}).role_arn
    )


def test_pod_identity_role_trusts_the_eks_pod_identity_service_with_tag_session():
    run = pod_identity_run()
    (statement,) = json.loads(run.one("iam/role:Role").inputs["assumeRolePolicy"])["Statement"]
    assert statement["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    assert sorted(statement["Action"]) == ["sts:AssumeRole", "sts:TagSession"]
    assert statement["Effect"] == "Allow"


def test_pod_identity_association_ties_the_role_to_the_apps_service_account_in_one_cluster():
    run = pod_identity_run()
    association = run.one("eks/podIdentityAssociation:PodIdentityAssociation")
    assert association.inputs["clusterName"] == "shop-prod"
    assert (
        association.inputs["namespace"] == "shop-prod"
        and association.inputs["serviceAccount"] == "shop"
    )
    assert (
        association.inputs["roleArn"] == f"arn:aws:iam::{MOCK_ACCOUNT}:role/shop-fetch-role-9f8e7d"
    )  # the mock's ARN
    assert association.parent == run.one("DjangoApp").urn


def test_pod_identity_webhook_is_told_to_skip_every_container_but_the_fetch_steps():
    run = pod_identity_run(sidecars=[{"name": "log-shipper", "image": "fluent/fluent-bit:3.2.4"}])
    template = run.one("Deployment").inputs["spec"]["template"]
    skipped = template["metadata"]["annotations"]["eks.amazonaws.com/skip-containers"].split(",")
    every = [
        c["name"] for c in [*template["spec"]["initContainers"], *template["spec"]["containers"]]
    ]
    assert sorted(skipped) == sorted(set(every) - {"fetch-config", "fetch-secrets"})
    assert {"django", "migrate", "wait-for-db", "log-shipper"} <= set(skipped)


def test_web_identity_pods_carry_no_skip_annotation_and_their_own_token():
    run = run_program(lambda: DjangoApp("shop", MINIMAL).role_arn)
    template = run.one("Deployment").inputs["spec"]["template"]
    assert "eks.amazonaws.com/skip-containers" not in template["metadata"].get("annotations", {})
    assert any(v["name"] == "aws-token" for v in template["spec"]["volumes"])


def test_first_start_waits_for_role_policy_and_association():
    run = pod_identity_run(migrations="job")
    needed = {
        run.one(t).urn
        for t in (
            "iam/role:Role",
            "iam/rolePolicy:RolePolicy",
            "eks/podIdentityAssociation:PodIdentityAssociation",
        )
    }
    for kind in ("Deployment", "batch/v1:Job"):
        assert needed <= set(run.one(kind).dependencies), kind


def test_web_identity_first_start_waits_for_the_role_policy_too():
    run = run_program(lambda: DjangoApp("shop", {**MINIMAL, "migrations": "job"}).role_arn)
    policy = run.one("iam/rolePolicy:RolePolicy").urn
    assert (
        policy in run.one("Deployment").dependencies
        and policy in run.one("batch/v1:Job").dependencies
    )


def test_first_start_waits_for_every_config_file_not_for_the_whole_bucket_component():
    files = {"app.toml": "a = 1\n", "extra/b.toml": "b = 2\n"}
    run = run_program(
        lambda: (
            DjangoApp(
                "shop",
                {
                    **MINIMAL,
                    "config_files": files,
                    "processes": [{"name": "worker", "command": ["celery", "worker"]}],
                },
            ).role_arn
        )
    )
    objects = {r.urn for r in run.of_type("s3/bucketObjectv2:BucketObjectv2")}
    assert len(objects) == 2
    for name in ("shop-deployment", "shop-process-worker"):
        deps = set(run.one("apps/v1:Deployment", name).dependencies)
        assert objects <= deps, name
        # Each file waits for encryption and versioning itself; the lifecycle rule and the
        # TLS-only policy do not gate a read.
        assert run.one("s3/bucketPolicy:BucketPolicy").urn not in deps


def test_an_app_without_config_files_waits_for_its_bucket():
    run = run_program(lambda: DjangoApp("shop", MINIMAL).role_arn)
    assert (
        run.one("s3/bucket:Bucket").urn
        in run.one("apps/v1:Deployment", "shop-deployment").dependencies
    )


def test_both_trust_policies_are_allow_statements_in_the_only_policy_language_iam_accepts():
    web = workload_identity.trust_policy("arn:aws:iam::1:oidc-provider/x", "x", "shop", "shop")
    pod = workload_identity.pod_identity_trust_policy("shop", "shop", "c")
    for policy in (web, pod):
        assert policy["Version"] == "2012-10-17"
        assert [s["Effect"] for s in policy["Statement"]] == ["Allow"]


# --- The IAM documents, whole: what IAM receives (element names are case-sensitive) ---------

ISSUER = "oidc.eks.eu-west-3.amazonaws.com/id/5C0FFEE5"


def test_the_web_identity_trust_policy_is_exactly_one_statement_for_one_service_account():
    assert workload_identity.trust_policy("arn:aws:iam::1:oidc-provider/x", ISSUER, "shop", "shop") == {
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "FetchStepsOfOneServiceAccount",
            "Effect": "Allow",
            "Principal": {"Federated": "arn:aws:iam::1:oidc-provider/x"},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {
                f"{ISSUER}:sub": "system:serviceaccount:shop:shop",
                f"{ISSUER}:aud": "sts.amazonaws.com",
            }},
        }],
    }  # fmt: skip


def test_the_pod_identity_trust_policy_is_exactly_the_eks_service_for_one_cluster_namespace_and_account():
    assert workload_identity.pod_identity_trust_policy("shop", "shop-backup", "prod-eks") == {
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "EksPodIdentity", "Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
            "Condition": {"StringEquals": {
                "aws:RequestTag/eks-cluster-name": "prod-eks",
                "aws:RequestTag/kubernetes-namespace": "shop",
                "aws:RequestTag/kubernetes-service-account": "shop-backup",
            }},
        }],
    }  # fmt: skip


def test_every_pod_identity_role_trusts_only_its_own_service_account():
    # #27: without conditions any association in the account could bind the db-admin role.
    run = run_program(lambda: DjangoApp("shop", {**POD_IDENTITY, "backups": {}}).namespace)
    trusted = {}
    for role in run.of_type("iam/role:Role"):
        (statement,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
        trusted[role.name] = statement["Condition"]["StringEquals"]
    assert {
        name: t["aws:RequestTag/kubernetes-service-account"] for name, t in trusted.items()
    } == {
        "shop-fetch-role": "shop",
        "shop-backup-role": "shop-backup",
        "shop-restore-role": "shop-restore",
    }
    assert {t["aws:RequestTag/eks-cluster-name"] for t in trusted.values()} == {"shop-prod"}
    assert {t["aws:RequestTag/kubernetes-namespace"] for t in trusted.values()} == {"shop"}


def test_the_access_policy_is_exactly_list_and_read_of_the_prefix_and_the_own_secrets():
    key = "arn:aws-cn:kms:cn-north-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    assert workload_identity.access_policy("aws-cn", "cfg", "shop/shop", ["arn:s1", "arn:s2"], key) == {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "ListOwnPrefix", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws-cn:s3:::cfg",
             "Condition": {"StringLike": {"s3:prefix": ["shop/shop/*", "shop/shop"]}}},
            {"Sid": "ReadOwnConfig", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws-cn:s3:::cfg/shop/shop/*"},
            {"Sid": "ReadOwnSecrets", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": ["arn:s1", "arn:s2"]},
            {"Sid": "DecryptWithAppKey", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": key,
             "Condition": {"StringEquals": {"kms:ViaService": [
                 "s3.cn-north-1.amazonaws.com.cn", "secretsmanager.cn-north-1.amazonaws.com.cn"]}}},
        ],
    }  # fmt: skip


def test_the_partition_of_an_output_arn_is_an_output_of_the_partition():
    import pulumi
    from harness import run_program as run

    run_result = run(
        lambda: workload_identity.partition_of(
            pulumi.Output.from_input("arn:aws-us-gov:iam::1:role/r")
        )
    )
    assert run_result.result == "aws-us-gov"


def test_the_backup_and_db_admin_roles_use_the_key_only_through_their_service():
    from pulumi_djangoapp.builders import backups as backup_pod
    from pulumi_djangoapp.builders import rds

    key = "arn:aws:kms:eu-west-3:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    (backup,) = [
        s
        for s in backup_pod.access_policy("aws", "b", "p", key)["Statement"]
        if s["Sid"] == "EncryptWithAppKey"
    ]
    assert backup["Condition"] == {
        "StringEquals": {"kms:ViaService": ["s3.eu-west-3.amazonaws.com"]}
    }
    (admin,) = [
        s
        for s in rds.access_policy("arn:m", "arn:d", key)["Statement"]
        if s["Sid"] == "DecryptWithAppKey"
    ]
    assert admin["Condition"] == {
        "StringEquals": {"kms:ViaService": ["secretsmanager.eu-west-3.amazonaws.com"]}
    }

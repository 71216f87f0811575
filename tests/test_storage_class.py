"""The stack-level StorageClass: EKS clusters created on 1.30+ have none by default."""

import kubernetes_validate
import pulumi
import pytest
from test_stack_config import STACKS, load_yaml, run_stack, stack_config

from pulumi_djangoapp import storage_class
from pulumi_djangoapp.builders.storage_class import storage_class as build_storage_class
from pulumi_djangoapp.settings.checks import ValidationError

PROD_KEY = "arn:aws:kms:eu-west-3:333333333333:key/0b5c4e1a-7d2f-4c3b-9a8e-1f2d3c4b5a69"


def built(**args):
    return build_storage_class(storage_class.normalise({"name": "shop-gp3", **args}))


def test_a_created_class_is_encrypted_expandable_zone_aware_and_keeps_volumes():
    sc = built()
    assert sc["provisioner"] == "ebs.csi.aws.com"
    assert sc["parameters"]["type"] == "gp3" and sc["parameters"]["encrypted"] == "true"
    # An EBS volume lives in one zone: bind it where the pod is scheduled.
    assert sc["volumeBindingMode"] == "WaitForFirstConsumer"
    assert sc["allowVolumeExpansion"] is True  # the data claim can grow in place
    assert sc["reclaimPolicy"] == "Retain"  # deleting a claim never deletes the data


def test_a_class_can_use_a_customer_key_and_eks_auto_modes_provisioner():
    sc = built(kms_key_arn=PROD_KEY, provisioner="ebs.csi.eks.amazonaws.com")
    assert sc["parameters"]["kmsKeyId"] == PROD_KEY
    assert sc["provisioner"] == "ebs.csi.eks.amazonaws.com"


@pytest.mark.parametrize("version", ["1.32.0", "1.34.0", "1.37.0"])
def test_the_class_passes_the_strict_schema(version):
    kubernetes_validate.validate(built(kms_key_arn=PROD_KEY), version, strict=True)


@pytest.mark.parametrize(
    "args, field",
    [
        ({"name": "GP3"}, "storage_class.name"),
        ({"name": ""}, "storage_class.name"),
        ({"provisioner": "kubernetes.io/aws-ebs"}, "storage_class.provisioner"),
        ({"volume_type": "gp4"}, "storage_class.volume_type"),
        ({"kms_key_arn": "alias/aws/ebs"}, "storage_class.kms_key_arn"),
        ({"reclaim_policy": "Recycle"}, "storage_class.reclaim_policy"),
        ({"size": "10Gi"}, "storage_class.size"),
    ],
)
def test_a_class_cannot_be_given_what_ebs_or_kubernetes_would_refuse(args, field):
    with pytest.raises(ValidationError) as caught:
        storage_class.normalise({"name": "shop-gp3", **args})
    assert field in {p.field for p in caught.value.problems}


@pytest.mark.parametrize("stack", STACKS)
def test_every_shipped_stack_names_its_database_storage_class(root, stack):
    assert load_yaml(root, f"Pulumi.{stack}.yaml")["config"].get("djangoapp:databaseStorageClass")


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_eks_stacks_create_their_class_before_the_app(root, stack):
    run = run_stack(root, stack_config(root, stack))
    sc = run.one("StorageClass")
    # The in-cluster database's volume, or on prod (RDS) the broker's.
    holder = "shop-broker" if stack == "prod" else "shop-postgres"
    claim = run.one("StatefulSet", holder).inputs["spec"]["volumeClaimTemplates"][0]["spec"]
    assert claim["storageClassName"] == sc.inputs["metadata"]["name"] == f"shop-{stack}-gp3"
    assert sc.inputs["provisioner"] == "ebs.csi.aws.com"
    assert sc.urn in run.one("DjangoApp").dependencies
    assert sc.provider.startswith(run.one("providers:kubernetes").urn)


def test_prod_encrypts_its_volumes_with_the_stacks_key(root):
    run = run_stack(root, stack_config(root, "prod"))
    assert run.one("StorageClass").inputs["parameters"]["kmsKeyId"] == PROD_KEY


def test_a_class_to_create_without_a_name_is_named_as_a_config_key(root):
    config = {**stack_config(root, "dev"), "djangoapp:databaseStorageClass": ""}
    with pytest.raises(pulumi.RunError, match="djangoapp:databaseStorageClass"):
        run_stack(root, config)


def test_a_bad_provisioner_is_named_as_a_config_key_and_nothing_is_created(root):
    config = {
        **stack_config(root, "dev"),
        "djangoapp:storageClassProvisioner": "kubernetes.io/aws-ebs",
    }
    with pytest.raises(pulumi.RunError, match="djangoapp:storageClassProvisioner") as caught:
        run_stack(root, config)
    assert caught.value.registrations == []


def test_a_class_key_is_checked_like_the_apps_kms_key_arn():
    # One KMS key ARN rule (settings/aws.py): before the reshape the class accepted any
    # key/<letters, digits, dashes>, which AWS refuses for a key that is not a key id.
    from pulumi_djangoapp.settings.aws import KMS_KEY_ARN

    bad = "arn:aws:kms:eu-west-3:333333333333:key/not-a-key-id"
    assert not KMS_KEY_ARN.match(bad)
    with pytest.raises(ValidationError) as caught:
        storage_class.normalise({"name": "shop-gp3", "kms_key_arn": bad})
    assert [p.field for p in caught.value.problems] == ["storage_class.kms_key_arn"]


def test_a_class_key_that_is_a_key_id_is_accepted():
    assert (
        storage_class.normalise({"name": "shop-gp3", "kms_key_arn": PROD_KEY}).kms_key_arn
        == PROD_KEY
    )

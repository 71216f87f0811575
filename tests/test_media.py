"""Media uploads: a bucket of the app's own and keyless access for the app's containers to exactly
its prefix. Run for real against moto with IAM enforced in tests/contract/test_contract_media.py."""

import json
import sys
from pathlib import Path

import pytest
from conftest import MINIMAL, OIDC, POD_IDENTITY
from harness import run_program

from pulumi_djangoapp import DjangoApp
from pulumi_djangoapp.builders import media
from pulumi_djangoapp.settings import normalise
from pulumi_djangoapp.settings.checks import ValidationError

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "policy"))
import validators

WORKER = {"name": "worker", "command": ["celery", "-A", "project", "worker"]}
NIGHTLY = {"name": "report", "schedule": "0 4 * * *", "command": ["python", "manage.py", "report"]}
SIDECAR = {"name": "log-shipper", "image": "cr.fluentbit.io/fluent/fluent-bit:3.2.4"}
ISSUER = OIDC["oidc_provider_url"].removeprefix("https://")


def run(base=MINIMAL, **args):
    return run_program(lambda: DjangoApp("shop", {**base, "media": {}, **args}).media_bucket_name)


def pod(registration):
    spec = registration.inputs["spec"]
    if "jobTemplate" in spec:
        spec = spec["jobTemplate"]["spec"]
    return spec["template"]


def test_the_media_policy_lists_only_its_prefix_and_touches_only_its_objects():
    document = media.access_policy("aws", "shop-media", "shop/shop/media")
    listing, objects = document["Statement"]
    assert listing["Action"] == "s3:ListBucket" and listing["Resource"] == "arn:aws:s3:::shop-media"
    # moto does not evaluate this condition: the document is the proof.
    assert listing["Condition"] == {
        "StringLike": {"s3:prefix": ["shop/shop/media/*", "shop/shop/media"]}
    }
    assert objects["Resource"] == "arn:aws:s3:::shop-media/shop/shop/media/*"
    assert set(objects["Action"]) == {
        "s3:GetObject",
        "s3:PutObject",
        "s3:DeleteObject",
        "s3:AbortMultipartUpload",
    }
    assert not [s for s in document["Statement"] if "*" in json.dumps(s["Action"])]


def test_with_a_customer_key_the_media_role_uses_it_only_through_s3():
    key = "arn:aws:kms:eu-west-3:123456789012:key/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"
    (_, _, kms) = media.access_policy("aws", "b", "p", key)["Statement"]
    assert kms["Resource"] == key
    assert kms["Condition"] == {"StringEquals": {"kms:ViaService": ["s3.eu-west-3.amazonaws.com"]}}


def test_the_media_role_trusts_the_apps_service_account_with_the_media_audience():
    r = run(media={"token_audience": "djangoapp-media"})
    trust = json.loads(r.one("iam/role:Role", "shop-media-role").inputs["assumeRolePolicy"])
    (statement,) = trust["Statement"]
    assert statement["Condition"]["StringEquals"] == {
        f"{ISSUER}:sub": "system:serviceaccount:shop:shop",
        f"{ISSUER}:aud": "djangoapp-media",
    }
    fetch = json.loads(r.one("iam/role:Role", "shop-fetch-role").inputs["assumeRolePolicy"])
    assert (
        fetch["Statement"][0]["Condition"]["StringEquals"][f"{ISSUER}:aud"] == "sts.amazonaws.com"
    )
    (volume,) = [
        v
        for v in pod(r.one("apps/v1:Deployment", "shop-deployment"))["spec"]["volumes"]
        if v["name"] == "aws-media-token"
    ]
    assert volume["projected"]["sources"][0]["serviceAccountToken"]["audience"] == "djangoapp-media"


def component_outputs(r):
    (outputs,) = [o for urn, o in r.outputs.items() if urn.endswith("DjangoApp::shop")]
    return outputs


def test_only_the_apps_own_containers_get_media_access_never_init_steps_or_sidecars():
    r = run(processes=[WORKER], schedules=[NIGHTLY], sidecars=[SIDECAR], migrations="job")
    holders = {}
    workloads = [
        *r.of_type("apps/v1:Deployment"),
        *r.of_type("batch/v1:CronJob"),
        *r.of_type("batch/v1:Job"),
    ]
    for registration in workloads:
        template = pod(registration)
        for container in [
            *template["spec"].get("initContainers", []),
            *template["spec"]["containers"],
        ]:
            if "aws-media-token" in {m["name"] for m in container.get("volumeMounts", [])}:
                env = {e["name"]: e.get("value") for e in container["env"]}
                holders[container["name"]] = env["AWS_ROLE_ARN"]
        granted = [c["name"] for c in template["spec"]["containers"] if c["name"] in holders]
        annotations = template["metadata"].get("annotations", {})
        assert annotations.get("djangoapp.io/cloud-access", "") == ",".join(granted)
    assert set(holders) == {"django", "worker", "report"}
    assert set(holders.values()) == {component_outputs(r)["media_role_arn"]}


def test_with_pod_identity_the_webhook_stops_skipping_only_the_apps_own_containers():
    r = run(POD_IDENTITY, processes=[WORKER], sidecars=[SIDECAR])
    assert r.of_type("iam/role:Role") and not [
        x for x in r.of_type("iam/role:Role") if x.name == "shop-media-role"
    ]
    policy = r.one("iam/rolePolicy:RolePolicy", "shop-media-policy")
    assert policy.inputs["role"].startswith("shop-fetch-role"), (
        "EKS maps one role per ServiceAccount"
    )
    annotations = pod(r.one("apps/v1:Deployment", "shop-deployment"))["metadata"]["annotations"]
    skipped = set(annotations["eks.amazonaws.com/skip-containers"].split(","))
    assert "django" not in skipped and {"log-shipper", "wait-for-db", "migrate"} <= skipped
    assert annotations["djangoapp.io/cloud-access"] == "django"


def test_outputs_name_the_bucket_prefix_and_role_never_credentials():
    r = run_program(lambda: DjangoApp("shop", {**MINIMAL, "media": {}}).media_prefix)
    assert r.result == "shop/shop/media"
    outputs = component_outputs(r)
    assert outputs["media_bucket_name"].startswith("shop-media-bucket")
    assert outputs["media_role_arn"].startswith("arn:aws:iam::")


def test_the_media_bucket_keeps_overwritten_uploads_longer_and_cors_only_when_asked():
    r = run()
    lifecycle = r.one(
        "bucketLifecycleConfiguration:BucketLifecycleConfiguration", "shop-media-lifecycle"
    )
    assert lifecycle.inputs["rules"][0]["noncurrentVersionExpiration"] == {"noncurrentDays": 90}
    assert not [x for x in r.registrations if x.name == "shop-media-cors"]
    r = run(media={"cors_origins": ["https://shop.example.com"], "noncurrent_version_days": 365})
    (rule,) = r.one("bucketCorsConfiguration:BucketCorsConfiguration").inputs["corsRules"]
    assert rule["allowedOrigins"] == ["https://shop.example.com"]
    block = r.one(
        "bucketPublicAccessBlock:BucketPublicAccessBlock", "shop-media-public-access-block"
    )
    assert all(
        block.inputs[k]
        for k in (
            "blockPublicAcls",
            "blockPublicPolicy",
            "ignorePublicAcls",
            "restrictPublicBuckets",
        )
    )


@pytest.mark.parametrize(
    "args, field",
    [
        ({"secrets_backend": "kubernetes", "image": "a/b:1", "media": {}}, "media"),
        (
            {**MINIMAL, "media": {"cors_origins": ["http://shop.example.com"]}},
            "media.cors_origins[0]",
        ),
        (
            {**MINIMAL, "media": {"cors_origins": ["https://shop.example.com/upload"]}},
            "media.cors_origins[0]",
        ),
        ({**MINIMAL, "media": {"noncurrent_version_days": 0}}, "media.noncurrent_version_days"),
        ({**MINIMAL, "media": {"token_audience": "has spaces"}}, "media.token_audience"),
        ({**POD_IDENTITY, "media": {"token_audience": "djangoapp-media"}}, "media.token_audience"),
        ({**MINIMAL, "media": {"public": True}}, "media.public"),
    ],
)
def test_media_cannot_be_what_would_not_work_or_would_open_the_bucket(args, field):
    with pytest.raises(ValidationError) as error:
        normalise("shop", args)
    assert field in {p.field for p in error.value.problems}


def test_media_can_be_switched_on_with_every_default():
    s = normalise("shop", {**MINIMAL, "media": {}})
    assert (s.media.noncurrent_version_days, s.media.cors_origins, s.media.token_audience) == (
        90,
        (),
        "sts.amazonaws.com",
    )


def violations(resource):
    found = []
    validators.app_has_no_cloud_credentials(
        type("Args", (), {"resource_type": resource.type, "props": resource.inputs})(),
        lambda message, urn=None: found.append(message),
    )
    return found


def test_the_policy_pack_allows_the_named_media_containers_and_nothing_else():
    r = run(processes=[WORKER])
    deployment = r.one("apps/v1:Deployment", "shop-deployment")
    assert violations(deployment) == []
    # The same credentials in a container the pod does not name: caught.
    spec = pod(deployment)["spec"]
    spec["initContainers"][-1]["env"].append(
        {"name": "AWS_ROLE_ARN", "value": "arn:aws:iam::1:role/x"}
    )
    assert any("holds cloud credentials" in v for v in violations(deployment))


def test_the_policy_pack_catches_a_media_container_given_the_fetch_role():
    r = run()
    deployment = r.one("apps/v1:Deployment", "shop-deployment")
    spec = pod(deployment)["spec"]
    fetch_role = next(
        e["value"] for e in spec["initContainers"][0]["env"] if e["name"] == "AWS_ROLE_ARN"
    )
    django = spec["containers"][0]
    for item in django["env"]:
        if item["name"] == "AWS_ROLE_ARN":
            item["value"] = fetch_role
    assert violations(deployment) == ["container 'django' holds the fetch steps' role"]

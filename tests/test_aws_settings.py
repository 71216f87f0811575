import pytest
from conftest import MINIMAL, OIDC

from pulumi_djangoapp.settings import normalise
from pulumi_djangoapp.settings.checks import ValidationError


def problems(**args):
    with pytest.raises(ValidationError) as caught:
        normalise("shop", {**MINIMAL, **args})
    return {p.field: p for p in caught.value.problems}


def test_oidc_provider_needs_both_arn_and_url():
    assert "oidc_provider_url" in problems(oidc_provider_url=None)
    assert "oidc_provider_arn" in problems(oidc_provider_arn=None)


def test_oidc_provider_with_both_gives_the_issuer_without_scheme():
    aws = normalise("shop", {**MINIMAL, **OIDC}).aws
    assert aws.workload_identity
    assert aws.oidc_issuer == "oidc.eks.eu-west-3.amazonaws.com/id/5C0FFEE5"


@pytest.mark.parametrize(
    "arn, url, field",
    [
        ("arn:aws:iam::123:oidc-provider/x", OIDC["oidc_provider_url"], "oidc_provider_arn"),
        ("arn:aws:iam::123456789012:role/x", OIDC["oidc_provider_url"], "oidc_provider_arn"),
        (OIDC["oidc_provider_arn"], "not a url", "oidc_provider_url"),
        (
            OIDC["oidc_provider_arn"],
            "https://oidc.eks.eu-west-3.amazonaws.com/id/OTHER",
            "oidc_provider_url",
        ),
    ],
)
def test_malformed_or_mismatched_oidc_provider_is_refused(arn, url, field):
    assert field in problems(oidc_provider_arn=arn, oidc_provider_url=url)


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:kms:eu-west-3:123456789012:alias/app",
        "key-id",
        "arn:aws:kms:eu-west-3:1234:key/abc",
    ],
)
def test_malformed_kms_key_arn_is_refused(arn):
    assert "kms_key_arn" in problems(kms_key_arn=arn)


def test_kms_key_arn_and_multi_region_keys_are_accepted():
    for arn in (
        "arn:aws:kms:eu-west-3:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "arn:aws:kms:eu-west-3:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab",
    ):
        assert normalise("shop", {**MINIMAL, "kms_key_arn": arn}).aws.kms_key_arn == arn


@pytest.mark.parametrize("window", [1, 6, 31, -1, "7"])
def test_recovery_window_outside_7_to_30_is_refused(window):
    assert "secret_recovery_window_days" in problems(secret_recovery_window_days=window)


def test_immediate_deletion_is_allowed_only_without_protect_data():
    assert (
        normalise("shop", {**MINIMAL, "secret_recovery_window_days": 0}).aws.recovery_window_days
        == 0
    )
    assert "secret_recovery_window_days" in problems(
        secret_recovery_window_days=0, protect_data=True
    )


def test_force_destroy_cannot_be_combined_with_protect_data():
    assert "config_bucket_force_destroy" in problems(
        config_bucket_force_destroy=True, protect_data=True
    )


def test_unknown_secrets_backend_is_refused():
    assert "secrets_backend" in problems(secrets_backend="vault")


def test_aws_only_args_are_refused_with_the_kubernetes_backend():
    found = problems(secrets_backend="kubernetes", kms_key_arn="x", aws_region="eu-west-3")
    assert {"kms_key_arn", "aws_region", "oidc_provider_arn", "oidc_provider_url"} <= set(found)


def test_endpoint_url_must_be_http_and_gives_the_port_to_open():
    assert "aws_endpoint_url" in problems(aws_endpoint_url="localstack:4566")
    aws = normalise("shop", {**MINIMAL, "aws_endpoint_url": "http://localstack:4566"}).aws
    assert aws.endpoint_port == 4566


def test_malformed_region_is_refused():
    assert "aws_region" in problems(aws_region="Europe")

"""Every object the component registers, checked against the real Kubernetes JSON schemas."""

import kubernetes_validate
import pytest
from conftest import MINIMAL, OIDC, REFS

from pulumi_djangoapp.builders import manifests
from pulumi_djangoapp.settings import normalise

PLACEHOLDERS = {k: "[secret]" for k in manifests.SECRET_VALUES}
SIDECAR = {
    "name": "log-shipper",
    "image": "fluent/fluent-bit:3.2.4",
    "args": ["-i", "tail", "-o", "stdout"],
    "ports": [2020],
    "startup_probe": {"tcp_socket": {"port": 2020}, "period_seconds": 1},
    "volume_mounts": {"logs": "/var/log/app"},
    "env": {"FLB_LOG_LEVEL": "info"},
}
VARIANTS = {
    "minimal": {},
    "sidecar": {"sidecars": [SIDECAR], "replicas": 3, "database": {"storage_class": "gp3"}},
    "shared-namespace": {"create_namespace": False, "namespace": "apps", "replicas": 1},
    "kubernetes-backend": {
        "oidc_provider_arn": None,
        "oidc_provider_url": None,
        "secrets_backend": "kubernetes",
        "config_files": {"app.toml": "a=1", "sub/x.json": "{}"},
    },
    "pod-identity": {
        "oidc_provider_arn": None,
        "oidc_provider_url": None,
        "aws_credentials": "pod-identity",
        "eks_cluster_name": "shop",
        "sidecars": [SIDECAR],
        "migrations": "job",
    },
    "aws-localstack": {
        **OIDC,
        "aws_endpoint_url": "http://localstack.localstack:4566",
        "sidecars": [SIDECAR],
    },
    "job-mode": {**OIDC, "migrations": "job", "sidecars": [SIDECAR]},
    "external-database": {
        "database": {"host": "db.example.com", "port": 6432},
        "migrations": "none",
    },
}


def objects(variant, version):
    s = normalise("shop", {**MINIMAL, **VARIANTS[variant], "kubernetes_version": version})
    return manifests.kubernetes_objects(s, PLACEHOLDERS, REFS if s.uses_aws else None)


@pytest.mark.parametrize("version", ["1.32", "1.34", "1.37"])
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_object_is_valid_for_the_kubernetes_version(variant, version):
    for role, obj in objects(variant, version):
        try:
            kubernetes_validate.validate(obj, version + ".0", strict=True)
        except (
            kubernetes_validate.ValidationError
        ) as error:  # pragma: no cover - message on failure
            pytest.fail(
                f"{role} ({obj['kind']}) invalid for {version}: {error.message} at {list(error.path)}"
            )


def test_an_invalid_object_is_caught_by_the_schema_check():
    # Guards the check above: a misspelt field must fail strict validation.
    role, deployment = next(o for o in objects("minimal", "1.32") if o[0] == "deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["imagePullPolcy"] = "Always"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, "1.32.0", strict=True)


def test_namespace_comes_first_and_roles_are_unique():
    roles = [role for role, _ in objects("sidecar", "1.32")]
    assert roles[0] == "namespace"
    assert len(roles) == len(set(roles))

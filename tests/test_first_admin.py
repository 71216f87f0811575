"""The first admin: a generated password in the secrets backend and a Job that creates the
superuser once. Run for real on PostgreSQL in tests/contract/test_contract_first_admin.py."""

import pytest
from conftest import KUBERNETES_ONLY, MINIMAL, REFS
from harness import is_secret, run_program

from pulumi_djangoapp import DjangoApp
from pulumi_djangoapp.builders import first_admin, manifests
from pulumi_djangoapp.settings import normalise
from pulumi_djangoapp.settings.checks import ValidationError

PLACEHOLDERS = {k: f"[{k}]" for k in (*manifests.SECRET_VALUES, *manifests.FEATURE_SECRET_VALUES)}


def built(base=KUBERNETES_ONLY, **args):
    s = normalise("shop", {**base, "first_admin": {}, **args})
    return {b.role: b for b in manifests.built_objects(s, PLACEHOLDERS, None)}


def test_the_job_runs_once_and_a_later_up_never_runs_it_again():
    job = built()["first-admin"]
    assert job.object["metadata"]["name"] == "shop-first-admin"
    # A new image or setting changes nothing Pulumi diffs: the Job is never replaced to run again.
    assert job.facts.ignore_changes == ("spec",) and not job.facts.replace_on_change
    # ...except a failed one, which the next up replaces (pulumi-kubernetes replaceUnready).
    assert job.object["metadata"]["annotations"]["pulumi.com/replaceUnready"] == "true"
    assert job.facts.after_migrations and job.facts.runs_app
    spec = job.object["spec"]
    assert spec["backoffLimit"] == 3 and spec["template"]["spec"]["restartPolicy"] == "Never"


def test_the_job_reaches_the_database_through_its_own_network_policy():
    objects = built()
    policy = objects["netpol-first-admin"].object["spec"]
    assert policy["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "first-admin"
    clients = objects["netpol-postgres"].object["spec"]["ingress"][0]["from"]
    assert {"app.kubernetes.io/component": "first-admin"} in [
        {
            k: v
            for k, v in c["podSelector"]["matchLabels"].items()
            if k == "app.kubernetes.io/component"
        }
        for c in clients
    ]


def test_the_password_is_generated_secret_and_only_its_location_is_an_output():
    run = run_program(
        lambda: DjangoApp("shop", {**MINIMAL, "first_admin": {}}).first_admin_password_secret
    )
    assert run.result.startswith("arn:aws:secretsmanager:")
    password = run.one("randomPassword:RandomPassword", "shop-secrets-admin-password")
    assert password.inputs["length"] == 32
    version = run.one(
        "aws:secretsmanager/secretVersion:SecretVersion", "shop-secrets-admin-password-version"
    )
    assert is_secret(version.raw_inputs["secretString"])
    (outputs,) = [o for urn, o in run.outputs.items() if urn.endswith("DjangoApp::shop")]
    assert outputs["first_admin_username"] == "admin"
    value = version.inputs["secretString"]
    assert value not in str(run.outputs)


def test_with_the_kubernetes_backend_the_output_names_the_secret_key():
    run = run_program(
        lambda: (
            DjangoApp("shop", {**KUBERNETES_ONLY, "first_admin": {}}).first_admin_password_secret
        )
    )
    assert run.result == "shop/shop-credentials#admin-password"
    assert is_secret(run.one("core/v1:Secret").raw_inputs["stringData"])


def test_with_secrets_manager_only_the_jobs_fetch_step_names_the_admin_secret():
    import dataclasses

    refs = dataclasses.replace(REFS, secret_ids={**REFS.secret_ids, "admin-password": "arn:admin"})
    s = normalise("shop", {**MINIMAL, "first_admin": {}})
    objects = {b.role: b.object for b in manifests.built_objects(s, PLACEHOLDERS, refs)}

    def fetch_env(obj):
        spec = obj["spec"]["template"]["spec"]
        step = next(c for c in spec["initContainers"] if c["name"] == "fetch-secrets")
        return {e["name"] for e in step["env"]}

    assert "ADMIN_PASSWORD_SECRET_ID" in fetch_env(objects["first-admin"])
    assert "ADMIN_PASSWORD_SECRET_ID" not in fetch_env(objects["deployment"])


@pytest.mark.parametrize(
    "value, field",
    [
        ({"username": "has space"}, "first_admin.username"),
        ({"username": "x" * 151}, "first_admin.username"),
        ({"email": "not-an-address"}, "first_admin.email"),
        ({"password": "hunter2"}, "first_admin.password"),
    ],
)
def test_the_first_admin_cannot_be_what_django_would_refuse_or_take_a_given_password(value, field):
    with pytest.raises(ValidationError) as error:
        normalise("shop", {**MINIMAL, "first_admin": value})
    assert field in {p.field for p in error.value.problems}
    assert "hunter2" not in str(error.value)


def test_the_first_admin_can_be_named():
    s = normalise(
        "shop",
        {**MINIMAL, "first_admin": {"username": "ops@example.com", "email": "ops@example.com"}},
    )
    assert (s.first_admin.username, s.first_admin.email) == ("ops@example.com", "ops@example.com")
    assert (
        first_admin.deadline_seconds(s)
        == s.db_wait_timeout_seconds + s.migrations.wait_timeout_seconds + 300
    )

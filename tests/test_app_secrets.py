import json

from conftest import KUBERNETES_ONLY, MINIMAL
from harness import fake_password, run_program

from pulumi_djangoapp import DjangoApp
from pulumi_djangoapp.settings import normalise

PASSWORD = fake_password("shop-secrets-db-password", 32)
SECRET_KEY = fake_password("shop-secrets-secret-key", 64)


def secret_versions(run):
    secrets = {r.name: r for r in run.of_type("secretsmanager/secret:Secret")}
    versions = {
        r.name.removesuffix("-version"): r.inputs["secretString"]
        for r in run.of_type(":SecretVersion")
    }
    assert set(secrets) == set(versions)
    return secrets, versions


def test_each_secret_file_is_its_own_secrets_manager_secret():
    run = run_program(lambda: DjangoApp("shop", MINIMAL).secret_arn)
    secrets, versions = secret_versions(run)
    assert sorted(secrets) == [
        "shop-secrets-database-json",
        "shop-secrets-database-url",
        "shop-secrets-secret-key",
    ]
    assert versions["shop-secrets-secret-key"] == SECRET_KEY
    assert run.result.endswith("shop-secrets-database-json-AbCdEf")


def test_database_secret_is_an_rds_style_document_with_the_url():
    run = run_program(lambda: DjangoApp("shop", MINIMAL).secret_arn)
    _, versions = secret_versions(run)
    document = json.loads(versions["shop-secrets-database-json"])
    url = f"postgres://shop:{PASSWORD}@shop-postgres.shop.svc.cluster.local:5432/shop"
    assert document == {
        "engine": "postgres",
        "host": "shop-postgres.shop.svc.cluster.local",
        "port": 5432,
        "dbname": "shop",
        "username": "shop",
        "password": PASSWORD,
        "database_url": url,
    }
    assert versions["shop-secrets-database-url"] == url


def test_postgres_and_secrets_manager_share_one_generated_password():
    run = run_program(lambda: DjangoApp("shop", MINIMAL).secret_arn)
    _, versions = secret_versions(run)
    kubernetes = run.one("core/v1:Secret").inputs["stringData"]
    assert kubernetes == {"password": PASSWORD}
    assert json.loads(versions["shop-secrets-database-json"])["password"] == PASSWORD


def test_recovery_window_and_customer_key_reach_every_secret():
    key = "arn:aws:kms:eu-west-3:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    run = run_program(
        lambda: (
            DjangoApp(
                "shop", {**MINIMAL, "secret_recovery_window_days": 7, "kms_key_arn": key}
            ).secret_arn
        )
    )
    for secret in run.of_type("secretsmanager/secret:Secret"):
        assert secret.inputs["recoveryWindowInDays"] == 7
        assert secret.inputs["kmsKeyId"] == key


def test_secret_names_are_scoped_to_namespace_and_app():
    run = run_program(lambda: DjangoApp("shop", {**MINIMAL, "namespace": "shop-prod"}).secret_arn)
    prefixes = sorted(r.inputs["namePrefix"] for r in run.of_type("secretsmanager/secret:Secret"))
    assert prefixes == [
        "shop-prod/shop/database-url-",
        "shop-prod/shop/database.json-",
        "shop-prod/shop/secret-key-",
    ]


def test_kubernetes_backend_keeps_every_file_in_the_kubernetes_secret():
    run = run_program(lambda: DjangoApp("shop", KUBERNETES_ONLY).secret_arn)
    data = run.one("core/v1:Secret").inputs["stringData"]
    assert {"database.json", "database-url", "secret-key", "password"} <= set(data)
    assert json.loads(data["database.json"])["password"] == PASSWORD
    assert run.result is None


def test_protect_data_protects_and_retains_everything_holding_data():
    run = run_program(lambda: DjangoApp("shop", {**MINIMAL, "protect_data": True}).namespace)
    kept = {r.name for r in run.registrations if r.protect and r.retain_on_delete}
    assert {
        "shop-config-bucket", "shop-postgres", "shop-secrets-db-password", "shop-secrets-secret-key",
        "shop-secrets-database-json", "shop-secrets-database-url",
    } <= kept  # fmt: skip
    assert "shop-deployment" not in kept


def test_without_protect_data_nothing_is_protected():
    run = run_program(lambda: DjangoApp("shop", MINIMAL).namespace)
    assert [r.name for r in run.registrations if r.protect or r.retain_on_delete] == []


def test_generated_values_travel_as_pulumi_secrets():
    from harness import is_secret

    run = run_program(lambda: DjangoApp("shop", MINIMAL).secret_arn)
    for version in run.of_type(":SecretVersion"):
        assert is_secret(version.raw_inputs["secretString"]), version.name
    k8s = run.one("core/v1:Secret").raw_inputs["stringData"]
    assert is_secret(k8s) or is_secret(k8s["password"])
    run = run_program(lambda: DjangoApp("shop", KUBERNETES_ONLY).secret_arn)
    k8s = run.one("core/v1:Secret").raw_inputs["stringData"]
    assert is_secret(k8s) or all(
        is_secret(k8s[k]) for k in ("password", "database-url", "secret-key", "database.json")
    )


def test_every_list_of_secret_files_is_the_one_table():
    # The Secret volume, the credentials Secret (kubernetes backend), the fetch step, the app's
    # *_FILE variables and the env check all follow settings/secret_files.py.
    from pulumi_djangoapp.builders import app, first_admin, manifests
    from pulumi_djangoapp.builders.fetch import FETCH_SECRETS_SCRIPT
    from pulumi_djangoapp.settings.env import MANAGED_ENV, SECRET_ENV
    from pulumi_djangoapp.settings.secret_files import SECRET_FILES

    every = {**KUBERNETES_ONLY, "broker": {}, "cache": {}, "mail": MAIL, "first_admin": {}}
    # The first-admin Job's pod reads every file: the app's and the admin password.
    s = first_admin.pod_settings(normalise("shop", every))
    keys = [f.key for f in SECRET_FILES]
    assert [f.key for f in s.stored_secret_files] == keys
    secret = manifests.credentials_secret(
        s, dict.fromkeys((*manifests.SECRET_VALUES, *manifests.FEATURE_SECRET_VALUES), "x")
    )
    volume = next(v for v in app.pod_spec(s)["volumes"] if v["name"] == "secrets")
    env = {e["name"]: e.get("value") for e in app.app_env(s)}
    assert [i["key"] for i in volume["secret"]["items"]] == keys
    assert set(keys) <= set(secret["stringData"])
    assert {env[f.file_env] for f in SECRET_FILES} == {f"{s.secrets_mount_path}/{k}" for k in keys}
    assert all(f.file_env in MANAGED_ENV for f in SECRET_FILES)
    assert set(SECRET_ENV) == {
        "DATABASE_URL",
        "SECRET_KEY",
        "DJANGO_SECRET_KEY",
        "BROKER_URL",
        "CELERY_BROKER_URL",
        "CACHE_URL",
        "REDIS_URL",
        "EMAIL_URL",
        "SMTP_URL",
        "EMAIL_HOST_PASSWORD",
        "DJANGO_SUPERUSER_PASSWORD",
        "ADMIN_PASSWORD",
    }
    assert all(f'fetch "${f.secret_id_env}" {f.key}' in FETCH_SECRETS_SCRIPT for f in SECRET_FILES)


MAIL = {
    "url": "smtp://AKIAEXAMPLE@email-smtp.eu-west-3.amazonaws.com",
    "password": "an SES SMTP password",
    "default_from_email": "shop@example.com",
}


def test_an_app_without_a_broker_has_no_broker_file():
    from pulumi_djangoapp.builders import app

    s = normalise("shop", KUBERNETES_ONLY)
    volume = next(v for v in app.pod_spec(s)["volumes"] if v["name"] == "secrets")
    assert "broker-url" not in [i["key"] for i in volume["secret"]["items"]]
    assert "BROKER_URL_FILE" not in {e["name"] for e in app.app_env(s)}


def test_the_apps_pods_cannot_read_the_first_admins_password():
    from pulumi_djangoapp.builders import app

    s = normalise("shop", {**KUBERNETES_ONLY, "first_admin": {}})
    assert "admin-password" in [f.key for f in s.stored_secret_files]
    volume = next(v for v in app.pod_spec(s)["volumes"] if v["name"] == "secrets")
    assert "admin-password" not in [i["key"] for i in volume["secret"]["items"]]
    assert "DJANGO_SUPERUSER_PASSWORD_FILE" not in {e["name"] for e in app.app_env(s)}

import pytest

from pulumi_djangoapp.settings import (
    BUILTIN_CONTAINERS,
    DEFAULT_APP_RESOURCES,
    normalise,
)
from pulumi_djangoapp.validation import ValidationError
from conftest import MINIMAL


def problems(args, name="shop"):
    with pytest.raises(ValidationError) as caught:
        normalise(name, args)
    return {p.field: p for p in caught.value.problems}


def test_minimal_args_get_every_default():
    s = normalise("shop", MINIMAL)
    assert (s.namespace, s.replicas, s.port, s.workers) == ("shop", 2, 8000, 2)
    assert s.kubernetes_minor == 32
    assert s.resources.manifest() == DEFAULT_APP_RESOURCES
    assert s.database.database_name == "shop" and s.database.storage_size == "10Gi"
    assert s.command[0] == "gunicorn" and "0.0.0.0:8000" in s.command


def test_settings_are_frozen():
    s = normalise("shop", MINIMAL)
    with pytest.raises(AttributeError):
        s.replicas = 5  # type: ignore[misc]


def test_unknown_argument_is_refused_by_name():
    found = problems({**MINIMAL, "replica": 3})
    assert "replica" in found
    assert "replicas" in found["replica"].allowed


def test_unknown_nested_arguments_are_refused_by_path():
    found = problems({**MINIMAL, "database": {"storage": "1Gi"}, "sidecars": [{"name": "a", "image": "b:1", "imgae": "x"}]})
    assert {"database.storage", "sidecars[0].imgae"} <= set(found)


def test_all_problems_are_reported_at_once():
    found = problems({"image": "shop:latest", "replicas": 0, "port": 70000, "namespace": "Bad_NS", "kubernetes_version": "one"})
    assert {"image", "replicas", "port", "namespace", "kubernetes_version"} <= set(found)


def test_missing_image_is_refused():
    assert "image" in problems({})


@pytest.mark.parametrize("replicas", [0, -1, 1.5, "2", True])
def test_replicas_must_be_a_positive_integer(replicas):
    assert problems({**MINIMAL, "replicas": replicas})["replicas"].value == replicas


@pytest.mark.parametrize("port", [0, 65536, "8000", 80.0])
def test_port_must_be_an_integer_in_range(port):
    assert "port" in problems({**MINIMAL, "port": port})


def test_port_in_range_is_accepted():
    assert normalise("shop", {**MINIMAL, "port": 65535}).port == 65535


def test_component_name_must_be_a_short_dns_label_starting_with_a_letter():
    assert "name" in problems(MINIMAL, name="1shop")
    assert "name" in problems(MINIMAL, name="Shop")
    assert "name" in problems(MINIMAL, name="s" * 41)
    assert normalise("s" * 40, MINIMAL).name == "s" * 40


@pytest.mark.parametrize(
    "resources, field",
    [
        ({"requests": {"cpu": "lots"}}, "resources.requests.cpu"),
        ({"requests": {"memory": "-1Gi"}}, "resources.requests.memory"),
        ({"requests": {"cpu": "2"}, "limits": {"cpu": "1"}}, "resources.limits.cpu"),
        ({"requests": {"gpu!": "1"}}, "resources.requests.gpu!"),
        ({"request": {"cpu": "1"}}, "resources.request"),
    ],
)
def test_bad_quantities_and_limits_below_requests_are_refused(resources, field):
    assert field in problems({**MINIMAL, "resources": resources})


def test_a_default_limit_is_raised_to_a_larger_request():
    s = normalise("shop", {**MINIMAL, "resources": {"requests": {"memory": "1Gi"}}})
    assert dict(s.resources.limits)["memory"] == "1Gi"
    assert dict(s.resources.requests)["cpu"] == DEFAULT_APP_RESOURCES["requests"]["cpu"]


def test_sidecar_names_must_be_labels_unique_and_not_builtin():
    found = problems(
        {
            **MINIMAL,
            "sidecars": [
                {"name": "Log_Shipper", "image": "a:1"},
                {"name": "dup", "image": "a:1"},
                {"name": "dup", "image": "a:1"},
                {"name": BUILTIN_CONTAINERS[1], "image": "a:1"},
            ],
        }
    )
    assert {"sidecars[0].name", "sidecars[2].name", "sidecars[3].name"} <= set(found)
    assert "sidecars[1].name" not in found


def test_sidecar_without_image_is_refused():
    assert "sidecars[0].image" in problems({**MINIMAL, "sidecars": [{"name": "log"}]})


def test_sidecar_port_cannot_clash_with_the_app_port():
    assert "sidecars[0].ports[0]" in problems({**MINIMAL, "sidecars": [{"name": "m", "image": "a:1", "ports": [8000]}]})


def test_sidecar_can_mount_only_known_shared_volumes():
    found = problems({**MINIMAL, "sidecars": [{"name": "m", "image": "a:1", "volume_mounts": {"secrets": "/s", "logs": "relative"}}]})
    assert {"sidecars[0].volume_mounts.secrets", "sidecars[0].volume_mounts.logs"} <= set(found)


def test_sidecar_probe_needs_exactly_one_handler_and_accepts_snake_case():
    assert "sidecars[0].startup_probe" in problems(
        {**MINIMAL, "sidecars": [{"name": "m", "image": "a:1", "startup_probe": {"period_seconds": 1}}]}
    )
    s = normalise("shop", {**MINIMAL, "sidecars": [{"name": "m", "image": "a:1", "startup_probe": {"tcp_socket": {"port": 9}, "period_seconds": 1}}]})
    assert s.sidecars[0].startup_probe == {"tcpSocket": {"port": 9}, "periodSeconds": 1}


@pytest.mark.parametrize("version", ["1", "1.x", "2.0", "v1.29.1.4", "", 1.29])
def test_malformed_kubernetes_version_is_refused(version):
    assert "kubernetes_version" in problems({**MINIMAL, "kubernetes_version": version})


def test_kubernetes_version_with_patch_or_v_prefix_is_accepted():
    assert normalise("shop", {**MINIMAL, "kubernetes_version": "v1.33.2"}).kubernetes_minor == 33


@pytest.mark.parametrize("version", ["1.24", "1.29", "1.31", "1.31.14"])
def test_a_kubernetes_version_no_provider_supports_any_more_is_refused(version):
    assert "1.32 or newer" in problems({**MINIMAL, "kubernetes_version": version})["kubernetes_version"].allowed


@pytest.mark.parametrize("version", ["1.32", "1.32.0", "1.37"])
def test_a_supported_kubernetes_version_is_accepted(version):
    assert normalise("shop", {**MINIMAL, "kubernetes_version": version}).kubernetes_minor >= 32


@pytest.mark.parametrize("size", ["big", "0", "-5Gi", "1.5"])
def test_invalid_storage_size_is_refused(size):
    assert "database.storage_size" in problems({**MINIMAL, "database": {"storage_size": size}})


@pytest.mark.parametrize("name", ["", "A=B", "1ABC", "has space"])
def test_env_names_that_kubernetes_refuses_are_refused(name):
    found = problems({**MINIMAL, "env": {name: "x"}})
    assert any(field.startswith("env") for field in found)


def test_plain_env_cannot_carry_a_database_url_with_a_password():
    found = problems({**MINIMAL, "env": {"DB": "postgres://u:hunter2@db/x"}})
    assert found["env.DB"].value == "[hidden]"
    assert "hunter2" not in str(found["env.DB"])


def test_secret_looking_env_names_are_refused_unless_allowed():
    assert "env.STRIPE_API_KEY" in problems({**MINIMAL, "env": {"STRIPE_API_KEY": "pk"}})
    s = normalise("shop", {**MINIMAL, "env": {"STRIPE_API_KEY": "pk", "TOKEN_FILE": "/x"}, "plaintext_env_allowed": ["STRIPE_API_KEY"]})
    assert dict(s.env)["STRIPE_API_KEY"] == "pk"


def test_env_cannot_override_what_the_component_manages():
    assert "env.DATABASE_URL_FILE" in problems({**MINIMAL, "env": {"DATABASE_URL_FILE": "/x"}})
    assert "env.SECRET_KEY" in problems({**MINIMAL, "env": {"SECRET_KEY": "x"}})


def test_run_as_user_must_be_a_high_non_root_uid():
    assert "run_as_user" in problems({**MINIMAL, "run_as_user": 0})
    assert "run_as_user" in problems({**MINIMAL, "run_as_user": 999})


def test_mount_paths_must_be_absolute_and_distinct():
    assert "config_mount_path" in problems({**MINIMAL, "config_mount_path": "config"})
    assert "secrets_mount_path" in problems({**MINIMAL, "config_mount_path": "/x", "secrets_mount_path": "/x"})


def test_arguments_set_to_none_count_as_not_given():
    s = normalise("shop", {**MINIMAL, "replicas": None, "namespace": None, "database": {"storage_class": None}})
    assert (s.replicas, s.namespace, s.database.storage_class) == (2, "shop", None)


@pytest.mark.parametrize("family, bind", [("ipv4", "0.0.0.0:8000"), ("ipv6", "[::]:8000")])
def test_gunicorn_binds_every_address_of_the_clusters_family(family, bind):
    command = normalise("shop", {**MINIMAL, "ip_family": family}).command
    assert command[command.index("--bind") + 1] == bind


@pytest.mark.parametrize("family", ["IPv6", "dual", ""])
def test_an_unknown_ip_family_is_refused(family):
    assert "ipv4, ipv6" in problems({**MINIMAL, "ip_family": family})["ip_family"].allowed

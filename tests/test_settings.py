import pytest
from conftest import MINIMAL

from pulumi_djangoapp.settings.app import DEFAULT_APP_RESOURCES, normalise
from pulumi_djangoapp.settings.checks import ValidationError
from pulumi_djangoapp.settings.sidecars import BUILTIN_CONTAINERS


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
    found = problems(
        {
            **MINIMAL,
            "database": {"storage": "1Gi"},
            "sidecars": [{"name": "a", "image": "b:1", "imgae": "x"}],
        }
    )
    assert {"database.storage", "sidecars[0].imgae"} <= set(found)


def test_all_problems_are_reported_at_once():
    found = problems(
        {
            "image": "shop:latest",
            "replicas": 0,
            "port": 70000,
            "namespace": "Bad_NS",
            "kubernetes_version": "one",
        }
    )
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
    assert "sidecars[0].ports[0]" in problems(
        {**MINIMAL, "sidecars": [{"name": "m", "image": "a:1", "ports": [8000]}]}
    )


def test_sidecar_can_mount_only_known_shared_volumes():
    found = problems(
        {
            **MINIMAL,
            "sidecars": [
                {
                    "name": "m",
                    "image": "a:1",
                    "volume_mounts": {"secrets": "/s", "logs": "relative"},
                }
            ],
        }
    )
    assert {"sidecars[0].volume_mounts.secrets", "sidecars[0].volume_mounts.logs"} <= set(found)


def test_sidecar_probe_needs_exactly_one_handler_and_accepts_snake_case():
    assert "sidecars[0].startup_probe" in problems(
        {
            **MINIMAL,
            "sidecars": [{"name": "m", "image": "a:1", "startup_probe": {"period_seconds": 1}}],
        }
    )
    s = normalise(
        "shop",
        {
            **MINIMAL,
            "sidecars": [
                {
                    "name": "m",
                    "image": "a:1",
                    "startup_probe": {"tcp_socket": {"port": 9}, "period_seconds": 1},
                }
            ],
        },
    )
    assert s.sidecars[0].startup_probe == {"tcpSocket": {"port": 9}, "periodSeconds": 1}


@pytest.mark.parametrize("version", ["1", "1.x", "2.0", "v1.29.1.4", "", 1.29])
def test_malformed_kubernetes_version_is_refused(version):
    assert "kubernetes_version" in problems({**MINIMAL, "kubernetes_version": version})


def test_kubernetes_version_with_patch_or_v_prefix_is_accepted():
    assert normalise("shop", {**MINIMAL, "kubernetes_version": "v1.33.2"}).kubernetes_minor == 33


@pytest.mark.parametrize("version", ["1.24", "1.29", "1.31", "1.31.14"])
def test_a_kubernetes_version_no_provider_supports_any_more_is_refused(version):
    assert (
        "1.32 or newer"
        in problems({**MINIMAL, "kubernetes_version": version})["kubernetes_version"].allowed
    )


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
    s = normalise(
        "shop",
        {
            **MINIMAL,
            "env": {"STRIPE_API_KEY": "pk", "TOKEN_FILE": "/x"},
            "plaintext_env_allowed": ["STRIPE_API_KEY"],
        },
    )
    assert dict(s.env)["STRIPE_API_KEY"] == "pk"


def test_env_cannot_override_what_the_component_manages():
    assert "env.DATABASE_URL_FILE" in problems({**MINIMAL, "env": {"DATABASE_URL_FILE": "/x"}})
    assert "env.SECRET_KEY" in problems({**MINIMAL, "env": {"SECRET_KEY": "x"}})


def test_run_as_user_must_be_a_high_non_root_uid():
    assert "run_as_user" in problems({**MINIMAL, "run_as_user": 0})
    assert "run_as_user" in problems({**MINIMAL, "run_as_user": 999})


def test_mount_paths_must_be_absolute_and_distinct():
    assert "config_mount_path" in problems({**MINIMAL, "config_mount_path": "config"})
    assert "secrets_mount_path" in problems(
        {**MINIMAL, "config_mount_path": "/x", "secrets_mount_path": "/x"}
    )


def test_arguments_set_to_none_count_as_not_given():
    s = normalise(
        "shop",
        {**MINIMAL, "replicas": None, "namespace": None, "database": {"storage_class": None}},
    )
    assert (s.replicas, s.namespace, s.database.storage_class) == (2, "shop", None)


@pytest.mark.parametrize("family, bind", [("ipv4", "0.0.0.0:8000"), ("ipv6", "[::]:8000")])
def test_gunicorn_binds_every_address_of_the_clusters_family(family, bind):
    command = normalise("shop", {**MINIMAL, "ip_family": family}).command
    assert command[command.index("--bind") + 1] == bind


@pytest.mark.parametrize("family", ["IPv6", "dual", ""])
def test_an_unknown_ip_family_is_refused(family):
    assert "ipv4, ipv6" in problems({**MINIMAL, "ip_family": family})["ip_family"].allowed


def _refused_fields(**args):
    with pytest.raises(ValidationError) as error:
        normalise("shop", {**MINIMAL, **args})
    return {p.field for p in error.value.problems}


@pytest.mark.parametrize(
    "args, field",
    [
        # Each value starts with a valid one: only a pattern anchored at its end refuses it.
        ({"namespace": "shop-"}, "namespace"),
        ({"probe_host": "shop-.example.com"}, "probe_host"),
        ({"probe_host": "example.com-"}, "probe_host"),
        ({"database": {"database_name": "shop-x"}}, "database.database_name"),
        ({"database": {"username": "shop x"}}, "database.username"),
        ({"resources": {"requests": {"cpu?": "1"}}}, "resources.requests.cpu?"),
        (
            {"sidecars": [{"name": "log-", "image": "cr.fluentbit.io/fluent/fluent-bit:3.2.4"}]},
            "sidecars[0].name",
        ),
        ({"processes": [{"name": "worker-", "command": ["celery"]}]}, "processes[0].name"),
    ],
)
def test_a_value_valid_only_as_a_prefix_cannot_pass(args, field):
    assert field in _refused_fields(**args)


def test_a_name_valid_only_as_a_prefix_cannot_name_the_app():
    with pytest.raises(ValidationError) as error:
        normalise("shop-", {**MINIMAL, "namespace": "apps"})
    assert [p.field for p in error.value.problems] == ["name"]


def test_the_name_limit_admits_40_characters_and_refuses_41():
    normalise("a" * 40, {**MINIMAL, "namespace": "apps"})
    with pytest.raises(ValidationError):
        normalise("a" * 41, {**MINIMAL, "namespace": "apps"})


def test_the_oldest_supported_kubernetes_is_1_32_and_1_31_cannot_pass():
    assert normalise("shop", {**MINIMAL, "kubernetes_version": "1.32"}).kubernetes_minor == 32
    assert "kubernetes_version" in _refused_fields(kubernetes_version="1.31")


def _rendered_pods():
    """Every pod the component renders for an app with all its steps (job mode, AWS, a sidecar)."""
    import dataclasses

    from conftest import REFS

    from pulumi_djangoapp.builders import app as app_pod
    from pulumi_djangoapp.builders import processes

    s = normalise("shop", {
        **MINIMAL, "migrations": "job",
        "sidecars": [{"name": "log-shipper", "image": "cr.fluentbit.io/fluent/fluent-bit:3.2.4"}],
        "processes": [{"name": "worker", "command": ["celery", "worker"]}], "broker": {},
        "ingress": {"hosts": ["shop.example.com"], "ingress_cidrs": ["10.0.0.0/16"]},
    })  # fmt: skip
    refs = dataclasses.replace(REFS, secret_ids={**REFS.secret_ids, "broker-url": "arn:broker"})
    return [
        app_pod.pod_spec(s, refs),
        app_pod.migration_pod_spec(s, refs),
        processes.process_pod_spec(s, s.processes[0], refs),
    ]


def test_no_variable_the_component_sets_can_be_set_by_the_user():
    app_containers = [
        c
        for pod in _rendered_pods()
        for c in [*pod["initContainers"], *pod["containers"]]
        if c["image"] == MINIMAL["image"]
    ]
    component_set = {e["name"] for c in app_containers for e in c["env"]}
    assert len(component_set) >= 15
    for name in sorted(component_set):
        assert f"env.{name}" in _refused_fields(env={name: "x"}), name


@pytest.mark.parametrize(
    "name", ["DATABASE_URL", "SECRET_KEY", "DJANGO_SECRET_KEY", "BROKER_URL", "CELERY_BROKER_URL"]
)
def test_a_secret_the_component_delivers_as_a_file_cannot_be_set_in_env(name):
    assert f"env.{name}" in _refused_fields(env={name: "value"})


def test_no_container_name_of_the_component_can_name_a_sidecar():
    own = {
        c["name"] for pod in _rendered_pods() for c in [*pod["initContainers"], *pod["containers"]]
    } - {"log-shipper", "worker"}
    assert {
        "django",
        "fetch-config",
        "fetch-secrets",
        "wait-for-db",
        "migrate",
        "wait-for-migrations",
    } <= own
    for name in sorted(own):
        fields = _refused_fields(
            sidecars=[{"name": name, "image": "cr.fluentbit.io/fluent/fluent-bit:3.2.4"}]
        )
        assert "sidecars[0].name" in fields, name


def test_a_native_sidecar_keeps_its_startup_probe_command_and_the_pull_policy():
    from pulumi_djangoapp.builders import app as app_pod

    s = normalise("shop", {**MINIMAL, "image_pull_policy": "IfNotPresent", "sidecars": [{
        "name": "proxy", "image": "ghcr.io/acme/proxy:1.0.0", "command": ["/proxy"], "args": ["--port", "9000"],
        "ports": [9000], "startup_probe": {"tcp_socket": {"port": 9000}, "period_seconds": 1, "failure_threshold": 30},
    }]})  # fmt: skip
    from conftest import REFS

    (proxy,) = [c for c in app_pod.pod_spec(s, REFS)["initContainers"] if c["name"] == "proxy"]
    assert proxy["restartPolicy"] == "Always" and proxy["imagePullPolicy"] == "IfNotPresent"
    assert (proxy["command"], proxy["args"]) == (["/proxy"], ["--port", "9000"])
    # Later init steps wait for this probe: the kubelet only starts them once it passes.
    assert proxy["startupProbe"] == {
        "tcpSocket": {"port": 9000},
        "periodSeconds": 1,
        "failureThreshold": 30,
    }


# --- Deny-lists and boundaries, by behaviour ------------------------------------------------


@pytest.mark.parametrize(
    "name", ["DATABASE_URL", "SECRET_KEY", "DJANGO_SECRET_KEY", "BROKER_URL", "CELERY_BROKER_URL"]
)
def test_a_variable_the_component_delivers_as_a_file_is_refused_as_such_and_never_shown(name):
    found = problems({**MINIMAL, "env": {name: "value-that-must-not-show"}})
    (problem,) = found.values()
    assert (
        str(problem)
        == f"env.{name} = '[hidden]': is a secret: the component delivers it as a file (see *_FILE variables)"
    )


@pytest.mark.parametrize(
    "name",
    [
        "django",
        "fetch-config",
        "fetch-secrets",
        "wait-for-db",
        "migrate",
        "wait-for-migrations",
        "postgres",
    ],
)
def test_a_sidecar_cannot_take_the_name_of_a_container_of_the_component(name):
    found = problems({**MINIMAL, "sidecars": [{"name": name, "image": "a/b:1"}]})
    assert "is a built-in container name" in str(found["sidecars[0].name"])


def test_a_sidecar_name_may_have_50_characters_not_51():
    normalise("shop", {**MINIMAL, "sidecars": [{"name": "s" * 50, "image": "a/b:1"}]})
    found = problems({**MINIMAL, "sidecars": [{"name": "s" * 51, "image": "a/b:1"}]})
    assert "at most 50 characters" in str(found["sidecars[0].name"])


@pytest.mark.parametrize("version", ["1.33x", "1.33.1.2", "1.33-eks"])
def test_a_kubernetes_version_with_anything_after_it_is_refused(version):
    assert "kubernetes_version" in problems({**MINIMAL, "kubernetes_version": version})

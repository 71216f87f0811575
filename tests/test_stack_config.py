import json

import pulumi
import pytest
import yaml
from harness import RecordingMocks, run_project
from pulumi.output import Unknown

from pulumi_djangoapp.settings.checks import ValidationError
from pulumi_djangoapp.stack_config import CONFIG_KEYS, args_from_config, pulumi_yaml_declarations
from pulumi_djangoapp.tools import runner

PROJECT = "djangoapp"
STACKS = ("dev", "staging", "prod", "local")


def load_yaml(root, name):
    return yaml.safe_load((root / name).read_text())


def stack_config(root, stack):
    """Stack config as the engine hands it to the program: project defaults, then the stack
    file, every value a string (lists as JSON)."""
    return runner.stack_config(runner.load_project(root), stack)[0]


def run_stack(root, config, preview=False):
    """stacks/ run as `pulumi up` (or the first `pulumi preview`) runs it: see pulumi_djangoapp.runner."""
    return run_project(root, "test", config, preview=preview)


def test_project_file_runs_the_stacks_folder_with_a_pip_venv(root):
    project = load_yaml(root, "Pulumi.yaml")
    assert project["name"] == PROJECT
    assert project["main"].rstrip("/") == "stacks"
    assert project["runtime"]["name"] == "python"
    assert project["runtime"]["options"]["toolchain"] == "pip"
    assert (root / "stacks" / "__main__.py").exists()


def test_project_file_declares_exactly_the_keys_the_program_reads(root):
    declared = load_yaml(root, "Pulumi.yaml")["config"]
    assert declared == pulumi_yaml_declarations()
    for key, entry in declared.items():
        assert entry["type"] in ("string", "integer", "boolean", "array"), key
        assert entry["description"], key
        if entry["type"] == "array":
            assert entry["items"] == {"type": "string"}


@pytest.mark.parametrize("stack", STACKS)
def test_stack_files_hold_only_declared_project_keys(root, stack):
    keys = set(load_yaml(root, f"Pulumi.{stack}.yaml")["config"])
    declared = {f"{PROJECT}:{k.key}" for k in CONFIG_KEYS}
    assert keys <= declared, keys - declared


@pytest.mark.parametrize("preview", [False, True], ids=["up", "first-preview"])
@pytest.mark.parametrize("stack", STACKS)
def test_each_stack_runs_as_the_engine_runs_it_in_up_and_first_preview(root, stack, preview):
    run = run_stack(root, stack_config(root, stack), preview=preview)
    component = run.one("DjangoApp")
    outputs = run.outputs[component.urn]
    assert outputs["deployment_name"] == "shop"
    assert outputs["namespace"] == f"shop-{stack}"
    assert set(outputs["effective_pod_requests"]) == {"cpu", "memory"}
    fetch = run.one("Deployment", "shop-deployment").raw_inputs["spec"]["template"]["spec"][
        "initContainers"
    ]
    env = {
        e["name"]: e.get("value") for c in fetch if c["name"] == "fetch-config" for e in c["env"]
    }
    # The bucket's name is the cloud's to choose: unknown until it exists.
    assert isinstance(env["CONFIG_BUCKET"], Unknown) == preview


def test_a_missing_config_dir_is_named_as_written_in_the_stack_file(root):
    with pytest.raises(pulumi.RunError) as caught:
        run_stack(root, {**stack_config(root, "dev"), "djangoapp:configDir": "config/nope"})
    assert "djangoapp:configDir = 'config/nope'" in str(caught.value)


def test_dev_runs_one_small_replica_with_a_log_shipper(root):
    run = run_stack(root, stack_config(root, "dev"))
    spec = run.one("Deployment", "shop-deployment").inputs["spec"]
    assert spec["replicas"] == 1
    init = spec["template"]["spec"]["initContainers"]
    assert init[0]["name"] == "log-shipper" and init[0]["restartPolicy"] == "Always"
    assert run.of_type("PodDisruptionBudget") == []


def test_prod_runs_three_replicas_on_rds_and_dev_a_small_in_cluster_volume(root):
    run = run_stack(root, stack_config(root, "prod"))
    assert run.one("Deployment", "shop-deployment").inputs["spec"]["replicas"] == 3
    instance = run.one("rds/instance:Instance").inputs
    assert (
        instance["instanceClass"],
        instance["allocatedStorage"],
        instance["maxAllocatedStorage"],
    ) == ("db.r7g.large", 100, 500)
    assert instance["backupRetentionPeriod"] == 14 and instance["multiAz"] is True
    assert run.one("rds/subnetGroup:SubnetGroup").inputs["subnetIds"] == [
        "subnet-0a3f5c7e9b1d2f401", "subnet-0a3f5c7e9b1d2f402", "subnet-0a3f5c7e9b1d2f403",
    ]  # fmt: skip
    assert run.one("ec2/securityGroup:SecurityGroup").inputs["ingress"][0]["securityGroups"] == [
        "sg-0c4e6a8b0d2f4a601"
    ]
    assert not [r for r in run.of_type("StatefulSet") if r.name == "shop-postgres"]
    dev_claim = (
        run_stack(root, stack_config(root, "dev"))
        .one("StatefulSet", "shop-postgres")
        .inputs["spec"]["volumeClaimTemplates"][0]["spec"]
    )
    assert dev_claim["resources"]["requests"]["storage"] == "2Gi"
    # The web pods' and the two workers'.
    assert sorted(r.name for r in run.of_type("PodDisruptionBudget")) == [
        "shop-pdb",
        "shop-pdb-worker",
    ]


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_staging_and_prod_run_a_worker_and_one_beat_with_an_in_cluster_broker(root, stack):
    run = run_stack(root, stack_config(root, stack))
    worker = run.one("Deployment", "shop-process-worker").inputs["spec"]
    beat = run.one("Deployment", "shop-process-beat").inputs["spec"]
    assert worker["replicas"] == 2 and worker["template"]["spec"]["containers"][0]["command"][
        :4
    ] == ["celery", "-A", "project", "worker"]
    assert beat["replicas"] == 1 and beat["strategy"] == {"type": "Recreate"}
    broker = run.one("StatefulSet", "shop-broker").inputs["spec"]
    assert broker["volumeClaimTemplates"][0]["spec"]["storageClassName"] == f"shop-{stack}-gp3"


def test_missing_image_is_named_as_a_config_key():
    with pytest.raises(ValidationError) as caught:
        args_from_config(lambda key: None, PROJECT)
    # In one run: an empty stack file also lacks the credential path of the default AWS backend.
    assert [p.field for p in caught.value.problems] == [
        "djangoapp:image",
        "djangoapp:kubeContext",
        "djangoapp:awsCredentials",
    ]


def test_non_integer_config_is_named_by_its_key():
    config = {
        "image": "a/b:1",
        "kubeContext": "c",
        "secretsBackend": "kubernetes",
        "replicas": "two",
        "env": "not json",
    }
    with pytest.raises(ValidationError) as caught:
        args_from_config(config.get, PROJECT)
    assert {p.field for p in caught.value.problems} == {"djangoapp:replicas", "djangoapp:env"}


def test_component_errors_in_a_stack_name_the_config_key(root):
    config = {**stack_config(root, "dev"), "djangoapp:replicas": "0", "djangoapp:cpuLimit": "1m"}
    with pytest.raises(pulumi.RunError) as caught:
        run_stack(root, config)
    message = str(caught.value)
    assert "djangoapp:replicas" in message
    assert "djangoapp:cpuLimit" in message
    assert "Traceback" not in message


def test_valid_config_builds_args_with_the_log_shipper_sidecar():
    config = {
        "image": "a/b:1",
        "kubeContext": "c",
        "logShipperImage": "fluent/fluent-bit:3.2.4",
        "env": '["A=1"]',
    }
    name, args = args_from_config(config.get, PROJECT)
    assert name == "django"
    assert args["env"] == {"A": "1"}
    assert args["sidecars"][0]["image"] == "fluent/fluent-bit:3.2.4"


def test_local_stack_targets_localstack_through_an_explicit_provider(root):
    run = run_stack(root, stack_config(root, "local"))
    provider = run.one("providers:aws")
    inputs = provider.inputs
    assert inputs["region"] == "us-east-1"
    # Provider inputs travel as strings (JSON for structured ones), as the engine passes them.
    assert (
        inputs["skipCredentialsValidation"] == "true"
        and inputs["skipRequestingAccountId"] == "true"
    )
    endpoints = json.loads(inputs["endpoints"])
    assert endpoints[0]["s3"] == "http://localhost:4566"
    bucket = run.one("s3/bucket:Bucket")
    assert bucket.provider.startswith(provider.urn)
    assert run.one("providers:kubernetes").inputs["context"] == "kind-djangoapp"
    fetch = run.one("Deployment", "shop-deployment").inputs["spec"]["template"]["spec"][
        "initContainers"
    ][1]
    env = {e["name"]: e["value"] for e in fetch["env"]}
    assert env["AWS_ENDPOINT_URL"] == "http://localstack.localstack.svc.cluster.local:4566"


def test_stack_config_dir_is_read_from_the_project_root_while_the_program_runs_in_stacks(root):
    run = run_stack(root, stack_config(root, "dev"))
    (obj,) = run.of_type(":BucketObjectv2")
    assert obj.inputs["key"] == "shop-dev/shop/app.toml"
    assert obj.inputs["content"] == (root / "config" / "dev" / "app.toml").read_text()


def test_prod_protects_its_data_and_dev_does_not(root):
    prod = run_stack(root, stack_config(root, "prod"))
    dev = run_stack(root, stack_config(root, "dev"))
    assert prod.one("s3/bucket:Bucket").protect and prod.one("rds/instance:Instance").protect
    assert prod.one("rds/instance:Instance").inputs["deletionProtection"] is True
    assert not dev.one("s3/bucket:Bucket").protect
    assert dev.one("s3/bucket:Bucket").inputs["forceDestroy"] is True


def test_every_stack_has_a_fetch_role_scoped_to_its_namespace(root):
    for stack in STACKS:
        run = run_stack(root, stack_config(root, stack))
        trust = json.loads(run.one("iam/role:Role", "shop-fetch-role").inputs["assumeRolePolicy"])
        conditions = trust["Statement"][0]["Condition"]["StringEquals"]
        assert f"system:serviceaccount:shop-{stack}:shop" in conditions.values()


def test_rds_keys_cannot_be_set_for_an_in_cluster_database_nor_volume_keys_for_rds():
    with pytest.raises(ValidationError) as caught:
        args_from_config(
            {
                "image": "a/b:1",
                "kubeContext": "c",
                "secretsBackend": "kubernetes",
                "databaseInstanceClass": "db.r7g.large",
            }.get,
            PROJECT,
        )
    (problem,) = caught.value.problems
    assert (
        problem.field == "djangoapp:databaseInstanceClass"
        and "databaseProvider rds (it is in-cluster)" in str(problem)
    )
    with pytest.raises(ValidationError) as caught:
        args_from_config(
            {
                "image": "a/b:1",
                "kubeContext": "c",
                "databaseProvider": "rds",
                "databaseStorageSize": "50Gi",
            }.get,
            PROJECT,
        )
    # The same run also names what this incomplete rds stack lacks (subnets, credentials).
    problem = caught.value.problems[0]
    assert problem.field == "djangoapp:databaseStorageSize" and problem.value == "50Gi"
    assert "only applies with databaseProvider in-cluster" in str(problem)


def test_boolean_config_must_be_true_or_false():
    with pytest.raises(ValidationError) as caught:
        args_from_config(
            {
                "image": "a/b:1",
                "kubeContext": "c",
                "secretsBackend": "kubernetes",
                "protectData": "yes",
            }.get,
            PROJECT,
        )
    assert [p.field for p in caught.value.problems] == ["djangoapp:protectData"]


def test_running_a_stack_loads_the_component_under_one_import_name_only(root):
    import sys

    run_stack(root, stack_config(root, "dev"))
    assert "pulumi_djangoapp.components.django_app" in sys.modules
    assert [m for m in sys.modules if m == "components" or m.startswith("components.")] == []


@pytest.mark.parametrize("stack", STACKS)
def test_no_stack_pulls_from_docker_hub_where_nodes_share_an_anonymous_pull_limit(root, stack):
    run = run_stack(root, stack_config(root, stack))
    images = {
        c["image"]
        for r in run.registrations if r.kind in ("Deployment", "StatefulSet", "Job")
        for c in [*r.inputs["spec"]["template"]["spec"].get("initContainers", []), *r.inputs["spec"]["template"]["spec"]["containers"]]
    }  # fmt: skip
    assert len(images) >= 3
    for image in images:
        registry = image.split("/")[0]
        # A first segment without '.' or ':' is Docker Hub (docker.io/library/...).
        assert ("." in registry or ":" in registry) and registry not in (
            "docker.io",
            "index.docker.io",
        ), image


def test_component_default_images_come_from_aws_public_registry():
    from pulumi_djangoapp.settings.args import DEFAULTS
    from pulumi_djangoapp.settings.database import DEFAULT_POSTGRES_IMAGE

    assert DEFAULT_POSTGRES_IMAGE.startswith("public.ecr.aws/docker/library/postgres:")
    assert DEFAULTS["aws_cli_image"].startswith("public.ecr.aws/aws-cli/aws-cli:")


@pytest.mark.parametrize("family, address", [("ipv4", "0.0.0.0"), ("ipv6", "::")])
def test_the_log_shippers_http_server_listens_on_the_clusters_family(family, address):
    config = {
        "image": "a/b:1",
        "kubeContext": "c",
        "logShipperImage": "cr.fluentbit.io/fluent/fluent-bit:3.2.4",
        "ipFamily": family,
    }
    _, args = args_from_config(config.get, PROJECT)
    shipper_args = args["sidecars"][0]["args"]
    assert shipper_args[shipper_args.index("-L") + 1] == address
    assert args["ip_family"] == family


def test_a_component_error_in_a_stack_registers_nothing_not_even_providers(root):
    config = {**stack_config(root, "prod"), "djangoapp:replicas": "0"}
    with pytest.raises(pulumi.RunError, match="djangoapp:replicas") as caught:
        run_stack(root, config)
    assert caught.value.registrations == []


@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_deploys_to_the_cluster_its_file_names_never_the_current_context(root, stack):
    run = run_stack(root, stack_config(root, stack))
    provider = run.one("providers:kubernetes")
    assert (
        provider.inputs["context"]
        == load_yaml(root, f"Pulumi.{stack}.yaml")["config"]["djangoapp:kubeContext"]
    )
    assert all(
        r.provider.startswith(provider.urn)
        for r in run.registrations
        if r.custom and r.type.startswith("kubernetes:")
    )


def test_a_stack_without_a_kube_context_is_refused(root):
    config = {k: v for k, v in stack_config(root, "dev").items() if k != "djangoapp:kubeContext"}
    with pytest.raises(pulumi.RunError, match="djangoapp:kubeContext"):
        run_stack(root, config)


def test_stack_processes_and_broker_become_process_and_broker_args():
    config = {
        "image": "a/b:1", "kubeContext": "c", "broker": "in-cluster", "databaseStorageClass": "gp3",
        "processes": json.dumps(["worker|celery -A project worker --loglevel 'INFO'|3", "beat|celery -A project beat|singleton", "mailer|python manage.py send_mail_loop"]),
    }  # fmt: skip
    _, args = args_from_config(config.get, PROJECT)
    assert args["processes"] == [
        {
            "name": "worker",
            "command": ["celery", "-A", "project", "worker", "--loglevel", "INFO"],
            "replicas": 3,
        },
        {"name": "beat", "command": ["celery", "-A", "project", "beat"], "singleton": True},
        {"name": "mailer", "command": ["python", "manage.py", "send_mail_loop"], "replicas": 1},
    ]
    assert args["broker"] == {"storage_class": "gp3"}


def test_a_stack_process_can_be_scaled_on_its_queue_within_a_range():
    config = {
        "image": "a/b:1", "kubeContext": "c", "broker": "in-cluster", "kedaNamespace": "autoscaling",
        "processes": json.dumps(["worker|celery -A project worker|queue:0-8"]),
    }  # fmt: skip
    _, args = args_from_config(config.get, PROJECT)
    (worker,) = args["processes"]
    assert worker["queue_autoscaling"] == {"min_replicas": 0, "max_replicas": 8}
    assert "replicas" not in worker and args["keda"] == {"namespace": "autoscaling"}


def test_an_external_broker_url_in_stack_config_is_an_external_broker():
    _, args = args_from_config(
        {"image": "a/b:1", "kubeContext": "c", "broker": "rediss://cache.example.com:6379/0"}.get,
        PROJECT,
    )
    assert args["broker"] == {"url": "rediss://cache.example.com:6379/0"}


@pytest.mark.parametrize(
    "entry",
    [
        "worker",
        "worker|celery worker|two",
        "worker||2",
        "worker|celery worker|2|extra",
        "worker|celery worker|queue:6",
        "worker|celery worker|queue:1-",
    ],
)
def test_a_stack_process_entry_cannot_be_malformed(entry):
    with pytest.raises(ValidationError) as error:
        args_from_config(
            {
                "image": "a/b:1",
                "kubeContext": "c",
                "secretsBackend": "kubernetes",
                "processes": json.dumps([entry]),
            }.get,
            PROJECT,
        )
    assert [(p.field, p.value) for p in error.value.problems] == [("djangoapp:processes", entry)]


def test_a_password_in_the_stack_broker_url_is_refused_without_being_printed(root):
    config = {
        "image": "a/b:1",
        "kubeContext": "c",
        "secretsBackend": "kubernetes",
        "broker": "rediss://:hunter2@cache.example.com:6379/0",
    }
    _, args = args_from_config(config.get, PROJECT)
    from pulumi_djangoapp.settings import normalise
    from pulumi_djangoapp.stack_config import with_config_keys

    with pytest.raises(ValidationError) as error:
        normalise("shop", args)
    message = str(with_config_keys(error.value, PROJECT, config.get))
    assert "djangoapp:broker" in message and "must not carry a password" in message
    assert "hunter2" not in message


def test_staging_backs_up_its_database_nightly_to_a_bucket_of_its_own(root):
    run = run_stack(root, stack_config(root, "staging"))
    job = run.one("batch/v1:CronJob", "shop-backup").inputs["spec"]
    assert job["schedule"] == "0 1 * * *"
    rules = run.one("BucketLifecycleConfiguration", "shop-backups-lifecycle").inputs["rules"]
    assert {"prefix": "shop-staging/shop/postgres/"} in [r["filter"] for r in rules]
    trust = json.loads(run.one("iam/role:Role", "shop-backup-role").inputs["assumeRolePolicy"])
    assert "system:serviceaccount:shop-staging:shop-backup" in json.dumps(trust)


@pytest.mark.parametrize("typo", ["kubernets", "vault"])
def test_a_misspelt_secrets_backend_is_named_and_cannot_send_the_user_after_valid_keys(typo):
    kms = "arn:aws:kms:eu-west-3:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    config = {
        "image": "a/b:1",
        "kubeContext": "c",
        "secretsBackend": typo,
        "kmsKeyArn": kms,
        "secretRecoveryWindowDays": "7",
    }
    with pytest.raises(ValidationError) as caught:
        args_from_config(config.get, PROJECT)
    (problem,) = caught.value.problems
    assert problem.field == "djangoapp:secretsBackend" and problem.value == typo
    assert "aws-secrets-manager, kubernetes" in str(problem)


def test_a_misspelt_database_provider_is_named_and_other_keys_are_not_judged_against_it():
    config = {
        "image": "a/b:1",
        "kubeContext": "c",
        "databaseProvider": "rdss",
        "databaseInstanceClass": "db.r7g.large",
        "databaseStorageSize": "50Gi",
    }
    with pytest.raises(ValidationError) as caught:
        args_from_config(config.get, PROJECT)
    (problem,) = caught.value.problems
    assert (problem.field, problem.value) == ("djangoapp:databaseProvider", "rdss")
    assert "in-cluster, rds" in str(problem)


def test_the_log_shippers_health_port_is_open_to_no_peer(root):
    # #27: fluent-bit's HTTP server (2020) was open to every pod; only the kubelet probes it.
    run = run_stack(root, stack_config(root, "staging"))
    web = next(
        r for r in run.of_type("NetworkPolicy") if r.inputs["metadata"]["name"] == "shop-web"
    )
    opened = {p["port"] for rule in web.inputs["spec"]["ingress"] for p in rule["ports"]}
    assert 2020 not in opened and opened == {8000}
    pod = run.one("apps/v1:Deployment", "shop-deployment").inputs["spec"]["template"]["spec"]
    (shipper,) = [c for c in pod["initContainers"] if c.get("restartPolicy") == "Always"]
    assert shipper["startupProbe"]["tcpSocket"]["port"] == 2020 and "ports" not in shipper


@pytest.mark.parametrize("stack", STACKS)
def test_the_stack_program_exports_every_output_of_the_component(root, stack, monkeypatch):
    from pulumi_djangoapp import DjangoApp

    exported = []
    real_export = pulumi.export
    monkeypatch.setattr(
        pulumi, "export", lambda name, value: (exported.append(name), real_export(name, value))
    )
    run_stack(root, stack_config(root, stack))
    assert [o for o in DjangoApp.OUTPUTS if o not in exported] == []


def test_a_stack_program_missing_an_output_cannot_pass_the_export_check():
    # Negative control: the list the check compares with is the component's whole list.
    from pulumi_djangoapp import DjangoApp

    assert {"database_endpoint", "database_port", "database_master_secret_arn"} <= set(
        DjangoApp.OUTPUTS
    )


def _with(args, path, value):
    import copy

    result = copy.deepcopy(args)
    node = result
    *parents, leaf = path.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value
    return result


# What turns a nested argument on, so its default applies.
_FEATURES = {
    "ingress": {"ingress": {"hosts": ["shop.example.com"], "ingress_cidrs": ["10.0.0.0/24"]}},
    # HSTS is sent over the TLS way in only.
    "hsts": {"ingress": {"hosts": ["shop.example.com"], "ingress_cidrs": ["10.0.0.0/24"]}},
    "backups.restore_drill": {"backups": {"restore_drill": {}}},
    "monitoring": {
        "monitoring": {"scraper": {"namespace": "monitoring", "pod_labels": {"app": "prometheus"}}}
    },
    "backups": {"backups": {}},
    "media": {"media": {}},
    "autoscaling": {"autoscaling": {"max_replicas": 6}},
    "database.rds": {
        "database": {
            "provider": "rds",
            "rds": {
                "subnet_ids": ["subnet-0a1b2c3d", "subnet-0a1b2c3e"],
                "client_security_group_ids": ["sg-0a1b2c3d"],
            },
        }
    },
}


def _defaulted_keys():
    for key in CONFIG_KEYS:
        # "", [], "none" and a documented "0 means ..." switch a feature off: not a default value.
        sentinel = key.default in (None, "", [], "none") or (
            key.default == 0 and "0 means" in key.description
        )
        if key.arg and not sentinel and "[" not in key.arg and key.arg != "name":
            yield key


@pytest.mark.parametrize("key", list(_defaulted_keys()), ids=lambda k: k.key)
def test_a_stack_config_default_is_the_components_own_default(key):
    # One default per field: a stack that leaves the key out and one that gives its documented
    # default must build the same app as the component's own default.
    from conftest import MINIMAL

    from pulumi_djangoapp.settings import normalise

    feature = next((v for prefix, v in _FEATURES.items() if key.arg.startswith(prefix + ".")), {})
    base = {**MINIMAL, **feature}
    assert normalise("shop", _with(base, key.arg, key.default)) == normalise("shop", base)


def test_a_stack_default_that_differs_from_the_component_cannot_pass():
    from conftest import MINIMAL

    from pulumi_djangoapp.settings import normalise

    assert normalise("shop", _with(MINIMAL, "port", 8001)) != normalise("shop", MINIMAL)


def test_every_documented_default_is_the_declared_one():
    # DjangoAppArgs' docstrings say "Default: ``value``"; DEFAULTS holds the value normalise uses.
    from pulumi_djangoapp.settings import args
    from pulumi_djangoapp.tools.reference import documented_fields

    docs = {name: " ".join(doc.split()) for name, _, doc in documented_fields(args.DjangoAppArgs)}
    assert set(args.DEFAULTS) <= set(docs)
    wrong = {
        name: docs[name]
        for name, value in args.DEFAULTS.items()
        if f"Default: ``{value}``" not in docs[name]
        and f"Default: ``{str(value).lower()}``" not in docs[name]
    }
    assert wrong == {}


class InvokeRecordingMocks(RecordingMocks):
    def __init__(self):
        super().__init__()
        self.invokes = []

    def call(self, args):
        self.invokes.append(args.token)
        return super().call(args)


def _stack_run(root, backend_keys):
    from harness import run_project

    config = {
        "djangoapp:image": "ghcr.io/example/django-shop:1.0.0",
        "djangoapp:kubeContext": "kind-djangoapp",
        **backend_keys,
    }
    mocks = InvokeRecordingMocks()
    return run_project(root, "test", config, mocks=mocks), mocks


def test_a_kubernetes_backend_stack_registers_and_invokes_nothing_of_aws(root):
    # #30: the engine loads a provider's plugin for any registration or invoke of it; a stack with
    # no AWS side must not need pulumi-resource-aws.
    run, mocks = _stack_run(root, {"djangoapp:secretsBackend": "kubernetes"})
    assert [
        r.type for r in run.registrations if r.type.startswith(("aws:", "pulumi:providers:aws"))
    ] == []
    assert [t for t in mocks.invokes if t.startswith("aws:")] == []
    assert any(r.type == "pulumi:providers:kubernetes" for r in run.registrations)


def test_an_aws_backend_stack_cannot_go_without_its_explicit_aws_provider(root):
    run, _ = _stack_run(
        root,
        {
            "djangoapp:awsRegion": "eu-west-3",
            "djangoapp:oidcProviderArn": "arn:aws:iam::111111111111:oidc-provider/oidc.eks.eu-west-3.amazonaws.com/id/T1",
            "djangoapp:oidcProviderUrl": "https://oidc.eks.eu-west-3.amazonaws.com/id/T1",
        },
    )
    assert [r.name for r in run.registrations if r.type == "pulumi:providers:aws"] == ["aws"]


def test_a_stack_can_switch_media_on_with_its_keys():
    from test_mail import BASE, config

    _, args = config(
        {**BASE, "secretsBackend": "aws-secrets-manager", "media": "true",
         "mediaCorsOrigins": '["https://shop.example.com"]', "mediaTokenAudience": "djangoapp-media"}
    )  # fmt: skip
    assert args["media"] == {
        "cors_origins": ["https://shop.example.com"],
        "noncurrent_version_days": 90,
        "token_audience": "djangoapp-media",
    }


def test_media_keys_cannot_be_set_without_media():
    from test_mail import BASE, config

    with pytest.raises(ValidationError) as error:
        config({**BASE, "mediaTokenAudience": "djangoapp-media"})
    assert [p.field for p in error.value.problems] == ["djangoapp:mediaTokenAudience"]


def test_a_stack_can_ask_for_the_first_admin_and_name_it():
    from test_mail import BASE, config

    _, args = config({**BASE, "firstAdmin": "true", "firstAdminEmail": "ops@example.com"})
    assert args["first_admin"] == {"email": "ops@example.com"}


def test_first_admin_keys_cannot_be_set_without_first_admin():
    from test_mail import BASE, config

    with pytest.raises(ValidationError) as error:
        config({**BASE, "firstAdminUsername": "ops"})
    assert [p.field for p in error.value.problems] == ["djangoapp:firstAdminUsername"]

"""Refused at preview: every input the API server, the runtime or AWS would refuse later.

One table per way in (Python API, stack config), one row per bad input, grouped by class. Each
must fail with its field named and nothing registered. Then unusual inputs that are valid must
pass, and their objects must be valid under the strict schemas of every supported version.
"""

from __future__ import annotations

import kubernetes_validate
import pulumi
import pytest
from conftest import IMAGE, KUBERNETES_ONLY, MINIMAL, OIDC, POD_IDENTITY, REFS
from harness import RecordingMocks, run_program
from test_stack_config import run_stack, stack_config

from pulumi_djangoapp import DjangoApp
from pulumi_djangoapp.builders import manifests
from pulumi_djangoapp.settings import normalise
from pulumi_djangoapp.settings.checks import ValidationError

DROP = object()  # remove the key from the base args
SHA256 = "a" * 64
LOG_SHIPPER = {"name": "log-shipper", "image": "cr.fluentbit.io/fluent/fluent-bit:3.2.4"}
PROBE = {"httpGet": {"path": "/", "port": 2020}}
KMS_WEST3 = "arn:aws:kms:eu-west-3:123456789012:key/0b5c4e1a-7d2f-4c3b-9a8e-1f2d3c4b5a69"
KMS_EAST1 = "arn:aws:kms:us-east-1:123456789012:key/0b5c4e1a-7d2f-4c3b-9a8e-1f2d3c4b5a69"


def sidecar(**fields):
    return {"sidecars": [{**LOG_SHIPPER, **fields}]}


def probe(**fields):
    return sidecar(startup_probe=fields)


# (class, overrides of MINIMAL, field that must be named)
API_CASES = [
    # Numbers the API server cannot store (int32, int64, ports, negative periods).
    ("numbers", {"replicas": 2**31}, "replicas"),
    ("numbers", {"replicas": -1}, "replicas"),
    ("numbers", {"replicas": 0}, "replicas"),
    ("numbers", {"port": 65536}, "port"),
    ("numbers", {"port": 0}, "port"),
    ("numbers", {"workers": 0}, "workers"),
    ("numbers", {"run_as_user": 2**31}, "run_as_user"),
    (
        "numbers",
        {"migrations": "job", "migration_job_deadline_seconds": 2**63},
        "migration_job_deadline_seconds",
    ),
    (
        "numbers",
        {"migrations": "job", "migration_job_backoff_limit": -1},
        "migration_job_backoff_limit",
    ),
    (
        "numbers",
        {"migrations": "job", "migrations_wait_timeout_seconds": 2**31},
        "migrations_wait_timeout_seconds",
    ),
    ("numbers", {"db_wait_timeout_seconds": -5}, "db_wait_timeout_seconds"),
    ("numbers", {"migration_lock_timeout_seconds": -1}, "migration_lock_timeout_seconds"),
    ("numbers", {"migration_lock_key": 2**63}, "migration_lock_key"),
    ("numbers", sidecar(ports=[70000]), "sidecars[0].ports[0]"),
    ("numbers", {"database": {"port": 99999}}, "database.port"),
    ("numbers", {"aws_endpoint_url": "http://localstack:99999"}, "aws_endpoint_url"),
    (
        "numbers",
        probe(tcpSocket={"port": 2020}, periodSeconds=2**31),
        "sidecars[0].startup_probe.periodSeconds",
    ),
    (
        "numbers",
        probe(tcpSocket={"port": 2020}, initialDelaySeconds=-1),
        "sidecars[0].startup_probe.initialDelaySeconds",
    ),
    (
        "numbers",
        probe(tcpSocket={"port": 2020}, timeoutSeconds=0),
        "sidecars[0].startup_probe.timeoutSeconds",
    ),
    (
        "numbers",
        probe(tcpSocket={"port": 2020}, failureThreshold=0),
        "sidecars[0].startup_probe.failureThreshold",
    ),
    (
        "numbers",
        probe(tcpSocket={"port": 2020}, terminationGracePeriodSeconds=0),
        "sidecars[0].startup_probe.terminationGracePeriodSeconds",
    ),
    ("numbers", {"secret_recovery_window_days": 31}, "secret_recovery_window_days"),
    ("numbers", {"replicas": True}, "replicas"),
    # Resources the API server rejects.
    ("resources", {"resources": {"limits": {"cpu": "100m"}}}, "resources.limits.cpu"),
    ("resources", {"resources": {"limits": {"memory": "128Mi"}}}, "resources.limits.memory"),
    (
        "resources",
        {"resources": {"requests": {"cpu": "2"}, "limits": {"cpu": "1"}}},
        "resources.limits.cpu",
    ),
    ("resources", {"resources": {"limits": {"memory": "0"}}}, "resources.limits.memory"),
    ("resources", {"resources": {"limits": {"memory": 0}}}, "resources.limits.memory"),
    (
        "resources",
        {"resources": {"requests": {"cpu": "0"}, "limits": {"cpu": "0"}}},
        "resources.limits.cpu",
    ),
    (
        "resources",
        {"resources": {"requests": {"nvidia.com/gpu": "1"}}},
        "resources.limits.nvidia.com/gpu",
    ),
    (
        "resources",
        {"resources": {"requests": {"nvidia.com/gpu": "1"}, "limits": {"nvidia.com/gpu": "2"}}},
        "resources.limits.nvidia.com/gpu",
    ),
    (
        "resources",
        {
            "resources": {
                "requests": {"nvidia.com/gpu": "500m"},
                "limits": {"nvidia.com/gpu": "500m"},
            }
        },
        "resources.requests.nvidia.com/gpu",
    ),
    (
        "resources",
        {"resources": {"requests": {"hugepages-2Mi": "64Mi"}}},
        "resources.limits.hugepages-2Mi",
    ),
    ("resources", {"resources": {"requests": {"cpu": "abc"}}}, "resources.requests.cpu"),
    ("resources", {"resources": {"requests": {"memory": -1}}}, "resources.requests.memory"),
    ("resources", {"resources": {"requests": {"cpu": True}}}, "resources.requests.cpu"),
    ("resources", {"resources": {"requests": {"cpu": float("nan")}}}, "resources.requests.cpu"),
    (
        "resources",
        sidecar(resources={"limits": {"cpu": "10m"}}),
        "sidecars[0].resources.limits.cpu",
    ),
    (
        "resources",
        {"database": {"resources": {"limits": {"memory": "100Mi"}}}},
        "database.resources.limits.memory",
    ),
    ("resources", {"resources": {"requests": {"CPU": "1"}}}, "resources.requests.CPU"),
    # Pod-spec rules outside the JSON schema.
    ("pod", {"config_mount_path": "/tmp"}, "config_mount_path"),
    ("pod", {"config_mount_path": "/var/log/app"}, "config_mount_path"),
    ("pod", {"secrets_mount_path": "/tmp/"}, "secrets_mount_path"),
    ("pod", {"secrets_mount_path": "/app/config"}, "secrets_mount_path"),
    (
        "pod",
        sidecar(volume_mounts={"config": "/shared", "logs": "/shared"}),
        "sidecars[0].volume_mounts.logs",
    ),
    ("pod", sidecar(volume_mounts={"logs": "/tmp"}), "sidecars[0].volume_mounts.logs"),
    (
        "pod",
        probe(tcpSocket={"port": 2020}, successThreshold=2),
        "sidecars[0].startup_probe.successThreshold",
    ),
    ("pod", probe(httpGet={"path": "/"}), "sidecars[0].startup_probe.httpGet.port"),
    ("pod", probe(tcpSocket={}), "sidecars[0].startup_probe.tcpSocket.port"),
    ("pod", probe(grpc={"port": "http"}), "sidecars[0].startup_probe.grpc.port"),
    ("pod", probe(exec={}), "sidecars[0].startup_probe.exec.command"),
    ("pod", probe(tcpSocket={"port": 0}), "sidecars[0].startup_probe.tcpSocket.port"),
    (
        "pod",
        probe(httpGet={"path": "healthz", "port": 2020}),
        "sidecars[0].startup_probe.httpGet.path",
    ),
    (
        "pod",
        probe(tcpSocket={"port": 2020}, httpGet={"path": "/", "port": 2020}),
        "sidecars[0].startup_probe",
    ),
    (
        "pod",
        {
            "sidecars": [
                {**LOG_SHIPPER, "ports": [9000]},
                {"name": "metrics", "image": "a/b:1", "ports": [9000]},
            ]
        },
        "sidecars[1].ports[0]",
    ),
    ("pod", sidecar(ports=[9000, 9000]), "sidecars[0].ports[1]"),
    ("pod", sidecar(ports=[8000]), "sidecars[0].ports[0]"),
    ("pod", {"env": {"BIG": "x" * (1024 * 1024)}}, "env"),
    ("pod", sidecar(env={"BIG": "y" * 200_000}), "env"),
    # Start-time failures.
    ("start", {"image": f"ghcr.io/acme/shop@sha256:{'a' * 63}"}, "image"),
    ("start", {"image": f"ghcr.io/acme/shop@sha256:{'A' * 64}"}, "image"),
    ("start", {"image": f"ghcr.io/acme/shop@md5:{'a' * 32}"}, "image"),
    ("start", {"image": f"ghcr.io/acme/shop@sha512:{'a' * 64}"}, "image"),
    ("start", sidecar(image=f"a/b@sha256:{'g' * 64}"), "sidecars[0].image"),
    ("start", {"database": {"image": f"postgres@sha256:{'a' * 65}"}}, "database.image"),
    (
        "start",
        {"aws_cli_image": f"public.ecr.aws/aws-cli/aws-cli@sha384:{'a' * 96}"},
        "aws_cli_image",
    ),
    ("start", {"database": {"username": "pg_admin"}}, "database.username"),
    ("start", {"database": {"username": "pg_"}}, "database.username"),
    ("start", {"config_files": {"a" * 256: "x"}}, "config_files"),
    ("start", {"config_files": {"/".join(["d" * 60] * 5): "x"}}, "config_files"),
    ("start", {"image": "ghcr.io/acme/shop"}, "image"),
    ("start", {"image": "ghcr.io/acme/shop:latest"}, "image"),
    # Silent data loss.
    ("data", {"config_files": {"a/b.toml": "1", "a__b.toml": "2"}}, "config_files"),
    ("data", {"config_dir": ""}, "config_dir"),
    ("data", {"config_dir": "   "}, "config_dir"),
    ("data", {"config_dir": "/definitely/not/here"}, "config_dir"),
    ("data", {"config_files": {"../escape": "x"}}, "config_files"),
    ("data", {"secrets_backend": "kubernetes", "kms_key_arn": KMS_WEST3}, "kms_key_arn"),
    ("data", {"secrets_backend": "kubernetes", "aws_region": "eu-west-3"}, "aws_region"),
    (
        "data",
        {"config_bucket_force_destroy": True, "protect_data": True},
        "config_bucket_force_destroy",
    ),
    (
        "data",
        {"secret_recovery_window_days": 0, "protect_data": True},
        "secret_recovery_window_days",
    ),
    ("data", {"replica": 3}, "replica"),
    # Cross-field and AWS facts.
    ("cross", {"aws_region": "eu-west-3", "kms_key_arn": KMS_EAST1}, "kms_key_arn"),
    ("cross", {"namespace": "kube-system"}, "namespace"),
    ("cross", {"namespace": "default"}, "namespace"),
    ("cross", {"namespace": "kube-public"}, "namespace"),
    ("cross", {"namespace": "kube-node-lease"}, "namespace"),
    ("cross", {"probe_host": ".."}, "probe_host"),
    ("cross", {"probe_host": "-shop"}, "probe_host"),
    ("cross", {"probe_host": "shop..internal"}, "probe_host"),
    ("cross", {"probe_host": "shop_internal"}, "probe_host"),
    ("cross", {"probe_host": "shop.internal:8000"}, "probe_host"),
    ("cross", {"env": {"DB_PASS": "x"}}, "env.DB_PASS"),
    ("cross", {"env": {"SMTP_PWD": "x"}}, "env.SMTP_PWD"),
    ("cross", {"env": {"GPG_PASSPHRASE": "x"}}, "env.GPG_PASSPHRASE"),
    (
        "cross",
        {"env": {"SENTRY_DSN_URL": "https://sentry.io/api/1/?password=hunter2"}},
        "env.SENTRY_DSN_URL",
    ),
    ("cross", {"env": {"FEED": "https://feed.example/x?token=abc123"}}, "env.FEED"),
    (
        "cross",
        {"env": {"UPLOAD": "https://b.s3.amazonaws.com/k?X-Amz-Signature=abc"}},
        "env.UPLOAD",
    ),
    ("cross", {"env": {"CACHE": "redis://:pw@cache:6379/0"}}, "env.CACHE"),
    ("cross", {"env": {"JWT_SIGNING_KEY": "x"}}, "env.JWT_SIGNING_KEY"),
    ("cross", {"aws_region": "eu_west_3"}, "aws_region"),
    ("cross", {"aws_region": "Europe"}, "aws_region"),
    # The credential path.
    ("credentials", {"oidc_provider_arn": DROP, "oidc_provider_url": DROP}, "aws_credentials"),
    ("credentials", {"aws_credentials": "ambient"}, "aws_credentials"),
    ("credentials", {"aws_credentials": "pod-identity"}, "eks_cluster_name"),
    ("credentials", {"oidc_provider_url": DROP}, "oidc_provider_url"),
    ("credentials", {"eks_cluster_name": "shop"}, "eks_cluster_name"),
    ("credentials", {"aws_region_check": "no"}, "aws_region_check"),
    ("credentials", {"ip_family": "dual"}, "ip_family"),
    ("credentials", {"kubernetes_version": "1.31"}, "kubernetes_version"),
]


def args_of(overrides):
    args = {**MINIMAL, **overrides}
    return {k: v for k, v in args.items() if v is not DROP}


def attempt(args):
    """(the ValidationError, what was registered before it)."""
    caught = []

    def build():
        try:
            DjangoApp("shop", args)
        except ValidationError as error:
            caught.append(error)

    run = run_program(build)
    return (caught[0] if caught else None), run.registrations


@pytest.mark.parametrize(
    "overrides, field",
    [c[1:] for c in API_CASES],
    ids=[f"{c[0]}-{i}" for i, c in enumerate(API_CASES)],
)
def test_the_python_api_cannot_take_an_input_that_would_fail_later(overrides, field):
    error, registered = attempt(args_of(overrides))
    assert error is not None, "accepted"
    assert field in {p.field for p in error.problems}, [str(p) for p in error.problems]
    assert registered == []


# (class, stack key, value as written in the stack file, key the error must name)
STACK_CASES = [
    ("numbers", "replicas", "2147483648", "djangoapp:replicas"),
    ("numbers", "port", "70000", "djangoapp:port"),
    ("numbers", "workers", "-1", "djangoapp:workers"),
    ("numbers", "secretRecoveryWindowDays", "3", "djangoapp:secretRecoveryWindowDays"),
    ("numbers", "awsEndpointUrl", "http://localhost:123456", "djangoapp:awsEndpointUrl"),
    ("resources", "cpuLimit", "50m", "djangoapp:cpuLimit"),
    ("resources", "memoryLimit", "0", "djangoapp:memoryLimit"),
    ("resources", "databaseMemoryLimit", "1Mi", "djangoapp:databaseMemoryLimit"),
    ("resources", "cpuRequest", "lots", "djangoapp:cpuRequest"),
    ("resources", "databaseStorageSize", "-10Gi", "djangoapp:databaseStorageSize"),
    ("start", "image", f"ghcr.io/x/y@sha256:{'a' * 10}", "djangoapp:image"),
    ("start", "logShipperImage", "fluent/fluent-bit", "djangoapp:logShipperImage"),
    ("start", "databaseImage", "postgres:latest", "djangoapp:databaseImage"),
    ("start", "kubernetesVersion", "1.28", "djangoapp:kubernetesVersion"),
    ("start", "ipFamily", "ipv5", "djangoapp:ipFamily"),
    ("data", "env", '["A=1", "A=2"]', "djangoapp:env"),
    ("data", "env", '["NOEQUALS"]', "djangoapp:env"),
    ("data", "configDir", "config/nope", "djangoapp:configDir"),
    ("data", "namespace", "kube-system", "djangoapp:namespace"),
    ("data", "protectData", "true", "djangoapp:secretRecoveryWindowDays"),
    ("cross", "kmsKeyArn", KMS_EAST1, "djangoapp:kmsKeyArn"),
    ("cross", "env", '["API_TOKEN=abc"]', "djangoapp:env"),
    ("cross", "awsRegion", "mars-1", "djangoapp:awsRegion"),
    (
        "cross",
        "oidcProviderUrl",
        "https://oidc.eks.eu-west-3.amazonaws.com/id/OTHER",
        "djangoapp:oidcProviderUrl",
    ),
    ("cross", "awsCredentials", "pod-identity", "djangoapp:oidcProviderArn"),
]

KUBERNETES_BACKEND_CASES = [
    ("data", "kmsKeyArn", KMS_WEST3, "djangoapp:kmsKeyArn"),
    ("data", "oidcProviderArn", OIDC["oidc_provider_arn"], "djangoapp:oidcProviderArn"),
    ("data", "awsEndpointUrl", "http://localstack:4566", "djangoapp:awsEndpointUrl"),
    ("data", "secretRecoveryWindowDays", "7", "djangoapp:secretRecoveryWindowDays"),
    ("data", "configBucketForceDestroy", "true", "djangoapp:configBucketForceDestroy"),
    ("data", "awsCredentials", "web-identity", "djangoapp:awsCredentials"),
]


@pytest.mark.parametrize(
    "key, value, named",
    [c[1:] for c in STACK_CASES],
    ids=[f"{c[0]}-{c[1]}-{i}" for i, c in enumerate(STACK_CASES)],
)
def test_a_stack_file_cannot_hold_a_value_that_would_fail_later(root, key, value, named):
    config = {**stack_config(root, "dev"), f"djangoapp:{key}": value}
    with pytest.raises(pulumi.RunError) as caught:
        run_stack(root, config)
    assert named in str(caught.value)
    assert caught.value.registrations == []


@pytest.mark.parametrize(
    "key, value, named",
    [c[1:] for c in KUBERNETES_BACKEND_CASES],
    ids=[c[1] for c in KUBERNETES_BACKEND_CASES],
)
def test_a_kubernetes_backend_stack_cannot_keep_aws_only_keys_it_would_ignore(
    root, key, value, named
):
    base = {
        k: v
        for k, v in stack_config(root, "dev").items()
        if not k.startswith(
            ("djangoapp:oidc", "djangoapp:secretRecovery", "djangoapp:configBucket")
        )
    }
    config = {**base, "djangoapp:secretsBackend": "kubernetes", f"djangoapp:{key}": value}
    with pytest.raises(pulumi.RunError) as caught:
        run_stack(root, config)
    assert named in str(caught.value)
    assert caught.value.registrations == []


@pytest.mark.parametrize(
    "key, value",
    [
        ("replicas", "3.5"),
        ("replicas", " 3"),
        ("protectData", "True"),
        ("protectData", "1"),
        ("replica", "3"),
        ("imageTag", "x"),
    ],
)
def test_the_engine_refuses_untyped_or_undeclared_stack_values_before_the_program(root, key, value):
    from pulumi_djangoapp.tools import runner

    project = runner.load_project(root)
    with pytest.raises(runner.ProgramError, match=f"djangoapp:{key}"):
        runner.stack_config(project, "dev", [f"{key}={value}"])


def test_a_stack_error_shows_values_as_the_stack_file_writes_them(root):
    config = {**stack_config(root, "prod"), "djangoapp:configBucketForceDestroy": "true"}
    with pytest.raises(pulumi.RunError) as caught:
        run_stack(root, config)
    message = str(caught.value)
    assert "djangoapp:configBucketForceDestroy = 'true'" in message and "True" not in message


def test_a_missing_value_is_said_to_be_empty_not_none():
    error, _ = attempt({"image": "ghcr.io/acme/shop:1.4.2"})
    assert "aws_credentials is empty" in str(error) and "None" not in str(error)


def test_thousands_of_bad_files_are_one_problem_with_a_count(tmp_path):
    for i in range(2000):
        (tmp_path / f"blob{i}.bin").write_bytes(b"\xff\xfe\x00")
    error, _ = attempt(args_of({"config_dir": str(tmp_path)}))
    (problem,) = error.problems
    assert problem.field == "config_dir" and str(problem.value).startswith("2000 files (")
    assert len(str(error)) < 500


def test_a_too_large_config_dir_is_named_as_config_dir(tmp_path):
    (tmp_path / "big.txt").write_text("x" * (1024 * 1024 + 1))
    error, _ = attempt(args_of({"config_dir": str(tmp_path)}))
    assert [p.field for p in error.problems] == ["config_dir"]


# --- values from another stack: checked once known, nothing built from a refused one ---------

PLATFORM = "acme/platform/dev"


def from_platform(outputs, **args):
    """DjangoApp args whose named values come from a StackReference with ``outputs``."""

    def program():
        platform = pulumi.StackReference("platform", stack_name=PLATFORM)
        resolved = {k: platform.require_output(v) for k, v in args.items()}
        DjangoApp(
            "shop",
            {
                **IMAGE,
                **resolved,
                **{
                    k: v
                    for k, v in OIDC.items()
                    if k not in resolved and "aws_credentials" not in outputs
                },
            },
        )

    return program


@pytest.mark.parametrize(
    "arg, output, bad",
    [
        ("aws_region", "region", "eu_west_3"),
        ("kms_key_arn", "kms", "alias/aws/s3"),
        ("oidc_provider_arn", "oidcArn", "arn:aws:iam::1:role/x"),
    ],
)
def test_a_refused_value_from_another_stack_is_named_once_known_and_nothing_uses_it(
    arg, output, bad
):
    mocks = RecordingMocks({PLATFORM: {output: bad}})
    with pytest.raises(Exception) as caught:
        run_program(from_platform({output: bad}, **{arg: output}), mocks=mocks)
    assert arg in str(caught.value)
    registered = getattr(caught.value, "registrations", None)
    if registered is not None:
        assert all(bad not in repr(r.inputs) for r in registered)


def test_a_refused_cluster_name_from_another_stack_creates_no_association():
    mocks = RecordingMocks({PLATFORM: {"cluster": "-bad-"}})

    def program():
        platform = pulumi.StackReference("platform", stack_name=PLATFORM)
        DjangoApp("shop", {**POD_IDENTITY, "eks_cluster_name": platform.require_output("cluster")})

    from harness import RecordingMonitor  # noqa: F401  (the run records what it got to)

    with pytest.raises(Exception) as caught:
        run_program(program, mocks=mocks)
    assert "eks_cluster_name" in str(caught.value)


# --- unusual but valid: accepted, and their objects valid on every supported version --------

VALID = [
    {"resources": {"requests": {"cpu": 0.5}, "limits": {"cpu": 1}}},
    {"resources": {"requests": {"memory": 268435456}, "limits": {"memory": "1Gi"}}},
    {"resources": {"requests": {"cpu": "1.5"}, "limits": {"cpu": "2"}}},
    {"resources": {"requests": {"memory": "1e9"}, "limits": {"memory": "2e9"}}},
    {
        "resources": {
            "requests": {"cpu": "250m", "nvidia.com/gpu": "1"},
            "limits": {"nvidia.com/gpu": "1"},
        }
    },
    {"resources": {"requests": {"hugepages-2Mi": "64Mi"}, "limits": {"hugepages-2Mi": "64Mi"}}},
    {
        "resources": {
            "requests": {"ephemeral-storage": "1Gi"},
            "limits": {"ephemeral-storage": "2Gi"},
        }
    },
    {"kubernetes_version": "v1.37.0"},
    {"kubernetes_version": "1.32.0"},
    {"namespace": "n" * 63},
    {"env": {"A.B-C": "1", "_X": "2"}},
    {"env": {"DATABASE_PASSWORD_FILE": "/run/secrets/app/x"}},
    {
        "env": {"PUBLIC_TOKEN_URL": "https://auth.example/token"},
        "plaintext_env_allowed": ["PUBLIC_TOKEN_URL"],
    },
    {"env": {"DOCS": "https://example.com/search?q=passport"}},
    {"probe_host": "10.0.0.1"},
    {"probe_host": "shop.internal"},
    {"port": 1},
    {"port": 65535},
    {"replicas": 1000},
    {"image": f"ghcr.io/acme/shop@sha256:{SHA256}"},
    {"image": f"registry.local:5000/acme/shop:1.0@sha256:{SHA256}"},
    sidecar(
        ports=[2020], startup_probe={"httpGet": {"path": "/", "port": 2020}, "failureThreshold": 30}
    ),
    sidecar(ports=[50051], startup_probe={"grpc": {"port": 50051}}),
    sidecar(startup_probe={"exec": {"command": ["true"]}, "periodSeconds": 2**31 - 1}),
    {"ip_family": "ipv6"},
    {"migrations": "none"},
    {"migrations": "job", "migration_job_deadline_seconds": 2**40},
    {"database": {"host": "10.1.2.3", "port": 6432}},
    {"database": {"storage_size": "1.5Ti"}},
    {"config_files": {"a" * 253: "x"}},
    {"aws_region": "eusc-de-east-1", "aws_region_check": False},
    {"secret_recovery_window_days": 0},
    {"migration_lock_key": -(2**63)},
    {"namespace": "default", "create_namespace": False},
    {
        "aws_credentials": "pod-identity",
        "eks_cluster_name": "Prod_Cluster-1",
        "oidc_provider_arn": DROP,
        "oidc_provider_url": DROP,
    },
    {"aws_region": "eu-west-3", "kms_key_arn": KMS_WEST3},
]


@pytest.mark.parametrize("overrides", VALID, ids=[f"valid-{i}" for i in range(len(VALID))])
def test_an_unusual_but_valid_input_is_accepted_and_its_objects_are_valid(overrides):
    s = normalise("shop", args_of(overrides))
    objects = manifests.kubernetes_objects(
        s, {"password": "p", "database_url": "u", "database_json": "j", "secret_key": "k"}, REFS
    )
    for version in ("1.32.0", "1.34.0", "1.37.0"):
        for _, obj in objects:
            kubernetes_validate.validate(obj, version, strict=True)


def test_kubernetes_only_args_are_valid_too():
    assert normalise("shop", KUBERNETES_ONLY).aws is None


def test_the_tables_cover_every_class_with_enough_cases():
    counts = {}
    for case in API_CASES + STACK_CASES + KUBERNETES_BACKEND_CASES:
        counts[case[0]] = counts.get(case[0], 0) + 1
    assert all(n >= 5 for n in counts.values()), counts
    assert len(API_CASES) + len(STACK_CASES) + len(KUBERNETES_BACKEND_CASES) + 6 + 3 >= 150
    assert len(VALID) >= 25


def warnings_for(monkeypatch, **args):
    seen = []
    monkeypatch.setattr(
        pulumi.log, "warn", lambda message, resource=None, **_: seen.append(message)
    )
    run_program(lambda: DjangoApp("shop", args_of(args)).namespace)
    return seen


def test_an_unknown_region_is_warned_about_not_refused(monkeypatch):
    (warning,) = warnings_for(monkeypatch, aws_region="eu-west-9")
    assert "eu-west-9" in warning and "aws_region_check" in warning


def test_a_known_region_or_the_opt_out_gives_no_warning(monkeypatch):
    assert warnings_for(monkeypatch, aws_region="eu-west-3") == []
    assert warnings_for(monkeypatch, aws_region="eu-west-9", aws_region_check=False) == []


# --- secure: stack values -------------------------------------------------------------------


def project_with_secure(root, tmp_path, key, value="v1:AAAA:BBBB"):
    """A copy of the project whose dev stack stores ``key`` as a secure value."""
    import shutil

    import yaml

    copy = tmp_path / "project"
    copy.mkdir()
    shutil.copy(root / "Pulumi.yaml", copy / "Pulumi.yaml")
    shutil.copytree(root / "stacks", copy / "stacks", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(root / "config", copy / "config")
    stack = yaml.safe_load((root / "Pulumi.dev.yaml").read_text())
    stack["config"][f"djangoapp:{key}"] = {"secure": value}
    (copy / "Pulumi.dev.yaml").write_text(yaml.safe_dump(stack))
    return copy


def test_a_secure_value_never_breaks_the_render_and_is_never_shown(root, tmp_path):
    from pulumi_djangoapp.tools import render

    project = project_with_secure(root, tmp_path, "kmsKeyArn")
    result = render.render(project / "stacks", "dev")
    render.write(result, tmp_path / "out")
    text = (tmp_path / "out" / "aws.json").read_text() + (
        tmp_path / "out" / "kubernetes.yaml"
    ).read_text()
    assert "placeholder-for-kmsKeyArn" not in text and "v1:AAAA" not in text
    encryption = [
        r for r in result.aws if r["type"].endswith("BucketServerSideEncryptionConfiguration")
    ]
    assert (
        encryption and encryption[0]["inputs"]["rules"] == render.SECRET
    )  # a secret stays a placeholder


def test_a_decrypted_secure_value_is_checked_once_known_and_named_not_printed(root):
    config = {**stack_config(root, "dev"), "djangoapp:kmsKeyArn": "alias/not-an-arn"}
    with pytest.raises(Exception) as caught:
        run_stack_with_secrets(root, config, ["djangoapp:kmsKeyArn"])
    assert "kms_key_arn = '[secret]'" in str(caught.value) and "alias/not-an-arn" not in str(
        caught.value
    )


def test_a_secure_value_that_would_land_in_plain_manifests_is_refused(root):
    config = {**stack_config(root, "dev"), "djangoapp:image": "ghcr.io/example/secret:1"}
    with pytest.raises(pulumi.RunError) as caught:
        run_stack_with_secrets(root, config, ["djangoapp:image"])
    assert "djangoapp:image = '[secret]'" in str(
        caught.value
    ) and "ghcr.io/example/secret" not in str(caught.value)
    assert caught.value.registrations == []


def run_stack_with_secrets(root, config, secret_keys):
    from harness import run_project

    return run_project(root, "test", config, secret_keys=secret_keys)


def test_a_secret_aws_key_in_a_kubernetes_backend_stack_is_named_never_printed(root):
    base = {
        k: v
        for k, v in stack_config(root, "dev").items()
        if not k.startswith(
            ("djangoapp:oidc", "djangoapp:secretRecovery", "djangoapp:configBucket")
        )
    }
    config = {**base, "djangoapp:secretsBackend": "kubernetes", "djangoapp:kmsKeyArn": KMS_WEST3}
    with pytest.raises(pulumi.RunError) as caught:
        run_stack_with_secrets(root, config, ["djangoapp:kmsKeyArn"])
    assert "djangoapp:kmsKeyArn = '[secret]'" in str(caught.value) and KMS_WEST3 not in str(
        caught.value
    )

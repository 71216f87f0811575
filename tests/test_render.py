"""The offline render: every stack, validated by the real Kubernetes schemas and checkov."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import validate_render
import yaml
from test_stack_config import STACKS

from pulumi_djangoapp.tools import render

VERSIONS = ("1.32.0", "1.34.0", "1.37.0")


@pytest.fixture(scope="module")
def rendered(root, tmp_path_factory):
    out = tmp_path_factory.mktemp("render")
    results = {}
    for stack in STACKS:
        result = render.render(root / "stacks", stack)
        render.write(result, out / stack)
        results[stack] = (result, out / stack)
    return results


def documents(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all((path / "kubernetes.yaml").read_text()) if d]


@pytest.mark.parametrize("stack", STACKS)
def test_render_writes_every_object_namespace_first(rendered, stack):
    result, out = rendered[stack]
    docs = documents(out)
    assert docs[0]["kind"] == "Namespace"
    kinds = {d["kind"] for d in docs}
    assert {
        "Deployment",
        "StatefulSet",
        "Service",
        "Secret",
        "NetworkPolicy",
        "ServiceAccount",
    } <= kinds
    assert all(d["apiVersion"] and d["metadata"]["name"] for d in docs)
    aws = json.loads((out / "aws.json").read_text())
    assert {"aws:s3/bucket:Bucket", "aws:iam/role:Role"} <= {r["type"] for r in aws}


def test_render_is_deterministic(root, tmp_path):
    for attempt in ("a", "b"):
        render.write(render.render(root / "stacks", "prod"), tmp_path / attempt)
    for name in (
        "kubernetes.yaml",
        "aws.json",
        "aws.yaml",
        "resources.yaml",
        "outputs.json",
        "graph.dot",
        "pods.dot",
    ):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("stack", STACKS)
def test_rendered_objects_pass_strict_schema_validation(rendered, stack, version):
    for doc in documents(rendered[stack][1]):
        # Built-in kinds against Kubernetes' schemas; Gateway API routes against their own.
        validate_render.validate(doc, [version])


@pytest.mark.parametrize("stack", STACKS)
def test_no_generated_secret_leaks_into_any_rendered_file_or_output(rendered, stack):
    result, out = rendered[stack]
    text = "".join(
        f.read_text()
        for f in sorted(out.iterdir())
        if f.suffix in (".yaml", ".json", ".dot", ".svg")
    ) + json.dumps(result.outputs)
    assert ".result>" not in text  # RandomPassword results are rendered as <computed:NAME.result>
    assert "postgres://" not in text  # a database URL carries the password
    secret = next(d for d in documents(out) if d["kind"] == "Secret")
    assert set(secret["stringData"].values()) == {render.SECRET}
    versions = [
        r for r in json.loads((out / "aws.json").read_text()) if r["type"].endswith("SecretVersion")
    ]
    assert versions and all(r["inputs"]["secretString"] == render.SECRET for r in versions)


def test_computed_values_are_readable_placeholders(rendered):
    env = {
        e["name"]: e.get("value")
        for d in documents(rendered["dev"][1]) if d["kind"] == "Deployment"
        for c in d["spec"]["template"]["spec"]["initContainers"] if c["name"] == "fetch-config"
        for e in c["env"]
    }  # fmt: skip
    assert env["CONFIG_BUCKET"] == "<computed:shop-config-bucket.bucket>"
    assert env["AWS_ROLE_ARN"] == "<computed:shop-fetch-role.arn>"


def checkov() -> str:
    candidates = [
        os.environ.get("CHECKOV", ""),
        str(Path(sys.prefix).parent / ".venv-checkov" / "bin" / "checkov"),
    ]
    found = next((c for c in candidates if c and Path(c).is_file()), None)
    if not found:
        pytest.fail("checkov is not installed: run `make test` (it builds .venv-checkov)")
    return found


@pytest.fixture(scope="module")
def checkov_report(rendered, tmp_path_factory):
    """One checkov run over every stack's render (its start-up is most of its cost)."""
    folder = tmp_path_factory.mktemp("scan")
    for stack in STACKS:
        (folder / f"{stack}.yaml").write_text((rendered[stack][1] / "kubernetes.yaml").read_text())
    scan = subprocess.run(
        [checkov(), "--framework", "kubernetes", "--skip-download", "--compact", "-o", "json", "-d", str(folder)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    return json.loads(scan.stdout)


@pytest.mark.parametrize("stack", STACKS)
def test_checkov_finds_no_failed_check(checkov_report, stack):
    def of_stack(kind):
        return [
            c for c in checkov_report["results"][kind] if c["file_path"].endswith(f"/{stack}.yaml")
        ]

    assert [c["check_id"] for c in of_stack("failed_checks")] == []
    assert len(of_stack("passed_checks")) > 100
    assert {c["check_id"] for c in of_stack("skipped_checks")} <= {"CKV_K8S_43"}


def test_every_scanner_skip_is_explained_in_the_readme(root, rendered):
    readme = (root / "README.md").read_text()
    skips = {
        value.split("=", 1)[0]
        for stack in STACKS
        for d in documents(rendered[stack][1])
        for key, value in d["metadata"].get("annotations", {}).items() if key.startswith("checkov.io/skip")
    }  # fmt: skip
    assert skips == {"CKV_K8S_43"}
    for check in skips:
        assert check in readme


def run_cli(cwd, *args):
    return subprocess.run(
        [sys.executable, "-m", "pulumi_djangoapp.render", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_prints_a_summary_and_writes_both_files(root, tmp_path):
    result = run_cli(root, "--stack", "dev", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert (
        "init order: log-shipper (sidecar) -> fetch-config -> fetch-secrets -> wait-for-db -> migrate"
        in result.stdout
    )
    assert "effective pod requests {'cpu': '150m', 'memory': '256Mi'}" in result.stdout
    assert (tmp_path / "kubernetes.yaml").is_file() and (tmp_path / "aws.json").is_file()


def test_cli_set_overrides_a_config_key(root, tmp_path):
    assert (
        run_cli(root, "--stack", "dev", "--out", str(tmp_path), "--set", "replicas=4").returncode
        == 0
    )
    deployment = next(d for d in documents(tmp_path) if d["kind"] == "Deployment")
    assert deployment["spec"]["replicas"] == 4


def test_cli_bad_config_names_the_key_without_a_traceback(root, tmp_path):
    result = run_cli(root, "--stack", "dev", "--out", str(tmp_path), "--set", "replicas=zero")
    assert result.returncode == 2
    assert "djangoapp:replicas" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "kubernetes.yaml").exists()


def test_cli_unknown_stack_is_a_one_line_error(root, tmp_path):
    result = run_cli(root, "--stack", "nope", "--out", str(tmp_path))
    assert (
        result.returncode == 2
        and result.stderr.count("\n") == 1
        and "Pulumi.nope.yaml" in result.stderr
    )


def test_cli_renders_another_program_and_hides_secure_values(root, tmp_path):
    project = tmp_path / "consumer"
    project.mkdir()
    (project / "Pulumi.yaml").write_text("name: consumer\nruntime: python\n")
    (project / "Pulumi.ci.yaml").write_text(
        "config:\n  consumer:image: ghcr.io/acme/admin:2.0.0\n  consumer:token:\n    secure: v1:AAAA:BBBB\n"
    )
    (project / "__main__.py").write_text(
        "import pulumi\nfrom pulumi_djangoapp import DjangoApp\n"
        "c = pulumi.Config()\n"
        "assert c.require_secret('token') is not None\n"
        "DjangoApp('admin', {'image': c.require('image'), 'secrets_backend': 'kubernetes'})\n"
    )
    result = run_cli(
        root, "--stack", "ci", "--out", str(tmp_path / "out"), "--program", str(project)
    )
    assert result.returncode == 0, result.stderr
    assert "v1:AAAA" not in (tmp_path / "out" / "kubernetes.yaml").read_text()
    assert any(d["kind"] == "ConfigMap" for d in documents(tmp_path / "out"))


@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_renders_as_its_first_preview_with_unknowns_marked(root, stack, tmp_path):
    result = render.render(root / "stacks", stack, preview=True)
    render.write(result, tmp_path)
    text = (tmp_path / "kubernetes.yaml").read_text() + (tmp_path / "aws.json").read_text()
    assert render.UNKNOWN in text and "<computed:" not in text
    assert ".result" not in text and "postgres://" not in text
    kinds = {d["kind"] for d in documents(tmp_path)}
    assert {"Deployment", "StatefulSet", "NetworkPolicy"} <= kinds


def test_cli_preview_flag_renders_the_first_preview(root, tmp_path):
    result = run_cli(root, "--stack", "dev", "--out", str(tmp_path), "--preview")
    assert result.returncode == 0, result.stderr
    deployment = next(d for d in documents(tmp_path) if d["kind"] == "Deployment")
    fetch = deployment["spec"]["template"]["spec"]["initContainers"][1]
    assert {"name": "CONFIG_BUCKET", "value": render.UNKNOWN} in fetch["env"]


def test_cli_without_program_runs_the_main_of_the_pulumi_yaml_where_it_is_started(root, tmp_path):
    project = tmp_path / "elsewhere"
    (project / "infra").mkdir(parents=True)
    (project / "Pulumi.yaml").write_text("name: elsewhere\nruntime: python\nmain: infra/\n")
    (project / "infra" / "__main__.py").write_text(
        "import os\nfrom pulumi_djangoapp import DjangoApp\n"
        "assert os.path.basename(os.getcwd()) == 'infra'\n"
        "DjangoApp('solo', {'image': 'ghcr.io/acme/solo:1.0.0', 'secrets_backend': 'kubernetes'})\n"
    )
    result = run_cli(project, "--stack", "dev", "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    assert "DjangoApp solo" in result.stdout


def test_cli_honours_aws_region_from_a_consumer_stack_file(root, tmp_path):
    project = tmp_path / "regional"
    project.mkdir()
    (project / "Pulumi.yaml").write_text("name: regional\nruntime: python\n")
    (project / "Pulumi.dev.yaml").write_text("config:\n  aws:region: eu-north-1\n")
    (project / "__main__.py").write_text(
        "from pulumi_djangoapp import DjangoApp\n"
        "DjangoApp('solo', {'image': 'ghcr.io/acme/solo:1.0.0',\n"
        "  'oidc_provider_arn': 'arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-north-1.amazonaws.com/id/AB12',\n"
        "  'oidc_provider_url': 'https://oidc.eks.eu-north-1.amazonaws.com/id/AB12'})\n"
    )
    result = run_cli(project, "--stack", "dev", "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    deployment = next(d for d in documents(tmp_path / "out") if d["kind"] == "Deployment")
    fetch = deployment["spec"]["template"]["spec"]["initContainers"][0]
    assert {"name": "AWS_REGION", "value": "eu-north-1"} in fetch["env"]


def _resource(out, name):
    return next(
        r for r in yaml.safe_load((out / "resources.yaml").read_text()) if r["name"] == name
    )


def test_the_render_shows_what_pulumi_will_do_with_each_resource(rendered):
    postgres = _resource(rendered["staging"][1], "shop-postgres")["options"]
    assert postgres["ignoreChanges"] == ["spec.volumeClaimTemplates"]
    assert postgres["provider"] == "kubernetes"
    _, out = rendered["prod"]
    instance = _resource(out, "shop-database-instance")["options"]
    assert instance["protect"] and instance["retainOnDelete"] and instance["provider"] == "aws"
    assert _resource(out, "shop-database-provider")["options"]["protect"]
    assert "shop-database-instance" in _resource(out, "shop-db-role")["options"]["dependencies"]
    deployment = _resource(out, "shop-deployment")
    assert deployment["parent"] == "shop" and deployment["options"]["customTimeouts"][
        "create"
    ].endswith("m")
    assert {"shop-namespace", "shop-credentials", "shop-fetch-policy"} <= set(
        deployment["options"]["dependencies"]
    )
    assert _resource(out, "shop-hpa")["options"].get("protect") is None, "defaults are left out"


def test_a_migration_job_is_shown_replaced_on_change_and_deleted_first(tmp_path):
    (tmp_path / "Pulumi.yaml").write_text("name: jobs\nruntime: python\n")
    (tmp_path / "__main__.py").write_text(
        "from pulumi_djangoapp import DjangoApp\n"
        "DjangoApp('shop', {'image': 'ghcr.io/acme/shop:1.0.0', 'secrets_backend': 'kubernetes', 'migrations': 'job'})\n"
    )
    result = render.render(None, "dev", start=tmp_path)
    (job,) = [r for r in result.resources if r["name"] == "shop-migration-job"]
    assert (
        job["options"]["replaceOnChanges"] == ["spec"]
        and job["options"]["deleteBeforeReplace"] is True
    )


def test_scripts_are_literal_blocks_and_the_yaml_reads_back_identically(rendered):
    result, out = rendered["staging"]
    text = (out / "kubernetes.yaml").read_text()
    assert "- |\n" in text and 'fetch "$DATABASE_SECRET_ID" database.json' in text
    assert [d for d in yaml.safe_load_all(text) if d] == result.kubernetes


def test_json_documents_read_as_objects_in_aws_yaml_and_stay_strings_in_aws_json(rendered):
    _, out = rendered["staging"]
    readable = {r["name"]: r for r in yaml.safe_load((out / "aws.yaml").read_text())}
    policy = readable["shop-fetch-policy"]["inputs"]["policy"]["json"]
    assert policy["Version"] == "2012-10-17" and policy["Statement"][0]["Sid"] == "ListOwnPrefix"
    raw = {r["name"]: r for r in json.loads((out / "aws.json").read_text())}
    assert isinstance(raw["shop-fetch-policy"]["inputs"]["policy"], str)


def test_outputs_json_holds_every_output_with_secrets_masked(rendered):
    result, out = rendered["staging"]
    outputs = json.loads((out / "outputs.json").read_text())["shop"]
    assert set(outputs["effective_resources"]) >= {
        "web",
        "process-worker",
        "process-beat",
        "broker",
        "postgres",
    }
    assert (
        outputs["namespace"] == "shop-staging"
        and outputs["backup_prefix"] == "shop-staging/shop/postgres"
    )


def test_pictures_show_components_dependencies_and_each_pods_start_order(rendered):
    _, out = rendered["staging"]
    graph = (out / "graph.dot").read_text()
    for component in (
        "DjangoApp shop",
        "ConfigBucket shop-config",
        "AppSecrets shop-secrets",
        "ConfigBucket shop-backups",
    ):
        assert f'label="{component}"' in graph
    assert '"shop-deployment" -> "shop-credentials";' in graph
    pods = (out / "pods.dot").read_text()
    worker = pods[pods.index("cluster_Deployment shop-worker") :]
    order = [
        worker.index(f"{i}. {name}")
        for i, name in enumerate(
            [
                # Staging has monitoring: the heartbeat exporter starts first.
                "heartbeat-exporter (sidecar)",
                "log-shipper (sidecar)",
                "fetch-config",
                "fetch-secrets",
                "wait-for-db",
                "wait-for-migrations",
                "worker (app)",
            ],
            1,
        )
    ]
    assert order == sorted(order)
    assert "req cpu=" in worker
    if render.pictures_svg():
        assert (out / "graph.svg").read_text().lstrip().startswith(("<?xml", "<svg"))
        assert (out / "pods.svg").stat().st_size > 0


def test_the_readmes_pictures_are_those_of_the_current_prod_render(rendered, root):
    _, out = rendered["prod"]
    for name in ("graph", "pods"):
        committed = (root / "docs" / f"prod-{name}.dot").read_text()
        assert committed == (out / f"{name}.dot").read_text(), (
            f"docs/prod-{name}.dot is stale: run `make pictures`"
        )
        assert (root / "docs" / f"prod-{name}.svg").is_file()


def test_cli_warnings_are_prefixed_like_the_pulumi_cli_shows_them(root, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "pulumi_djangoapp.render", "--stack", "dev", "--out", str(tmp_path), "--set", "djangoapp:awsRegion=eu-nowhere-9"],
        cwd=root, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if "eu-nowhere-9" in line]
    assert lines and all(
        line.startswith("warning: DjangoApp 'shop': aws_region 'eu-nowhere-9'") for line in lines
    )


def test_the_help_is_plain_text_and_names_every_file_the_render_writes(tmp_path):
    # #27: the help showed reST backticks, and --out named two of the files.
    import subprocess
    import sys

    from conftest import ROOT

    from pulumi_djangoapp.tools import render

    help_text = subprocess.run(
        [sys.executable, "-m", "pulumi_djangoapp.render", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    assert "``" not in help_text
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-m", "pulumi_djangoapp.render", "--stack", "dev", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(render.OUT_FILES)
    flat = " ".join(help_text.split())
    assert all(name in flat for name in render.OUT_FILES)

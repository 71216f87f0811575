"""Packaging and hosting: installable as a wheel, and publishable as a component package."""

import json
import os
import re
import subprocess
import sys
import tomllib
import venv
from pathlib import Path

import pytest
import yaml
from harness import run_program
from pulumi.provider.experimental.analyzer import Analyzer
from pulumi.provider.experimental.component import ComponentProvider
from pulumi.provider.experimental.schema import generate_schema

import pulumi_djangoapp
from pulumi_djangoapp import DjangoApp, DjangoAppArgs
from pulumi_djangoapp.components.django_app import OUTPUTS
from pulumi_djangoapp.config_bucket import ConfigBucketArgs


def provider_module(root):
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "djangoapp_provider", root / "provider" / "__main__.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # guarded by __name__ == "__main__": does not start a server
    return module


@pytest.fixture(scope="module")
def schema(root):
    provider = provider_module(root)
    analysis = Analyzer(provider.PACKAGE).analyze(provider.COMPONENTS)
    spec = generate_schema(
        provider.PACKAGE, pulumi_djangoapp.__version__, None,
        analysis["component_definitions"], analysis["type_definitions"], list(analysis["dependencies"]),
    )  # fmt: skip
    document = spec.to_json()
    return json.loads(document) if isinstance(document, str) else document


def camel(name):
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


def test_schema_publishes_both_components_under_the_component_type_tokens(schema):
    assert set(schema["resources"]) == {pulumi_djangoapp.TYPE_TOKEN, "djangoapp:index:ConfigBucket"}
    assert schema["resources"][pulumi_djangoapp.TYPE_TOKEN]["isComponent"] is True
    assert schema["version"] == pulumi_djangoapp.__version__


def test_schema_has_every_argument_with_a_description_stating_its_default(schema):
    resource = schema["resources"][pulumi_djangoapp.TYPE_TOKEN]
    assert set(resource["inputProperties"]) == {camel(k) for k in DjangoAppArgs.__annotations__}
    for name, prop in resource["inputProperties"].items():
        assert re.search(r"Default|Required", prop["description"]), name
    assert resource["requiredInputs"] == ["image"]
    bucket = schema["resources"]["djangoapp:index:ConfigBucket"]
    assert set(bucket["inputProperties"]) == {camel(k) for k in ConfigBucketArgs.__annotations__}


def test_schema_lists_every_output_with_a_description_saying_when_it_is_set(schema):
    properties = schema["resources"][pulumi_djangoapp.TYPE_TOKEN]["properties"]
    assert set(properties) == {camel(o) for o in OUTPUTS}
    assert len(OUTPUTS) == 29
    undescribed = [
        name
        for name, prop in properties.items()
        if not re.match(r"(Always:|With )", prop.get("description", ""))
    ]
    assert undescribed == []


def test_an_output_without_a_docstring_cannot_pass_the_description_check():
    # Negative control: the analyzer leaves an undocumented output without a description.
    import textwrap

    from pulumi.provider.experimental.analyzer import Analyzer

    source = textwrap.dedent("""
        import pulumi
        from typing import TypedDict
        class NoArgs(TypedDict):
            pass
        class Bare(pulumi.ComponentResource):
            url: pulumi.Output[str]
            def __init__(self, name: str, args: NoArgs, opts=None):
                super().__init__("x:index:Bare", name, {}, opts)
    """)
    module = tmp_module(source)
    analysis = Analyzer("x").analyze([module.Bare])
    outputs = analysis["component_definitions"]["Bare"].outputs
    assert outputs["url"].description is None


def test_nested_arg_types_are_published_with_their_required_fields(schema):
    sidecar = schema["types"]["djangoapp:index:SidecarArgs"]
    assert set(sidecar["required"]) == {"name", "image"}
    assert "startupProbe" in sidecar["properties"] and "volumeMounts" in sidecar["properties"]


def test_cluster_facts_may_be_outputs_of_another_stack(schema):
    props = schema["resources"][pulumi_djangoapp.TYPE_TOKEN]["inputProperties"]
    assert not props["oidcProviderArn"].get("plain")
    assert props["replicas"]["plain"] is True


def test_args_arriving_as_schema_dicts_build_the_same_component(root):
    """What a TypeScript or YAML program sends: camelCase keys, nested plain dicts."""
    provider = provider_module(root)
    host = ComponentProvider(
        provider.COMPONENTS, provider.PACKAGE, None, pulumi_djangoapp.__version__
    )
    inputs = {
        "image": "ghcr.io/acme/shop:1.4.2",
        "replicas": 3,
        "secretsBackend": "kubernetes",
        "sidecars": [
            {
                "name": "log-shipper",
                "image": "fluent/fluent-bit:3.2.4",
                "volumeMounts": {"logs": "/l"},
            }
        ],
        "database": {"storageSize": "20Gi"},
    }
    args = host.map_inputs(inputs, host._component_defs["DjangoApp"])
    run = run_program(lambda: DjangoApp("shop", args).namespace)
    spec = run.one("Deployment").inputs["spec"]
    assert spec["replicas"] == 3
    assert spec["template"]["spec"]["initContainers"][0]["volumeMounts"][0]["mountPath"] == "/l"
    assert (
        run.one("StatefulSet").inputs["spec"]["volumeClaimTemplates"][0]["spec"]["resources"][
            "requests"
        ]["storage"]
        == "20Gi"
    )


def test_plugin_file_names_the_python_runtime(root):
    assert "runtime: python" in (root / "provider" / "PulumiPlugin.yaml").read_text()


def requirement_names(lines):
    return {
        re.split(r"[<>=!~ \[]", line.strip(), maxsplit=1)[0].lower(): line.strip()
        for line in lines
        if line.strip() and not line.startswith(("#", "-"))
    }


def test_package_dependencies_match_requirements(root):
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    declared = requirement_names(project["dependencies"])
    required = requirement_names((root / "requirements.txt").read_text().splitlines())
    assert declared == required
    assert all(re.search(r">=.*,<", spec) for spec in declared.values()), "pin compatible ranges"


def fresh_venv(path: Path) -> Path:
    """A new venv whose dependencies come from this one (appended after its own site-packages,
    so `pulumi_djangoapp` itself can only come from what the test installs); pip would fetch the
    same dependencies from PyPI."""
    venv.create(path, with_pip=True)
    site = next((path / "lib").glob("python3*/site-packages"))
    dev_site = next(p for p in sys.path if p.endswith("site-packages") and Path(p).is_dir())
    (site / "deps.pth").write_text(dev_site + "\n")
    return path / "bin" / "python"


def clean_env() -> dict:
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


@pytest.fixture(scope="module")
def wheel_python(root, tmp_path_factory) -> Path:
    """The wheel, built from this checkout and installed into a fresh venv."""
    tmp = tmp_path_factory.mktemp("wheel")
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp / "wheels"), str(root)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr
    (wheel,) = (tmp / "wheels").glob("pulumi_djangoapp-*.whl")
    assert wheel.name.startswith(f"pulumi_djangoapp-{pulumi_djangoapp.__version__}-")
    python = fresh_venv(tmp / "venv")
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", str(wheel)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert install.returncode == 0, install.stderr
    return python


# A consumer's program that has a `components` package of its own, next to Pulumi.yaml.
SHADOW_PROGRAM = """
import json, os, sys
import pulumi, importlib.metadata as md
from components import TEAM  # the consumer's own package
from components.naming import app_name
import pulumi_djangoapp
from pulumi_djangoapp import DjangoApp

app = DjangoApp(app_name(), {"image": "ghcr.io/acme/shop:1.4.2", "secrets_backend": "kubernetes"})
pulumi.export("namespace", app.namespace)
ours = sorted(
    name for name, module in sys.modules.items()
    if (name == "components" or name.startswith("components."))
    and not (getattr(module, "__file__", "") or "").startswith(os.path.dirname(os.path.abspath(__file__)))
)
with open(os.environ["REPORT"], "w") as out:
    json.dump({
        "team": TEAM,
        "package": pulumi_djangoapp.__file__,
        "typed": os.path.exists(os.path.join(os.path.dirname(pulumi_djangoapp.__file__), "py.typed")),
        "requires": md.requires("pulumi-djangoapp"),
        "foreign_components_modules": ours,
        "components_file": sys.modules["components"].__file__,
    }, out)
"""


def test_wheel_works_in_a_consumer_project_that_has_its_own_components_package(
    wheel_python, tmp_path
):
    project = tmp_path / "team-infra"
    (project / "components").mkdir(parents=True)
    (project / "Pulumi.yaml").write_text("name: team-infra\nruntime: python\n")
    (project / "Pulumi.dev.yaml").write_text("config:\n  aws:region: eu-north-1\n")
    (project / "components" / "__init__.py").write_text("TEAM = 'payments'\n")
    (project / "components" / "naming.py").write_text("def app_name():\n    return 'ledger'\n")
    (project / "__main__.py").write_text(SHADOW_PROGRAM)
    report_file = tmp_path / "report.json"
    result = subprocess.run(
        [str(wheel_python), "-m", "pulumi_djangoapp.render", "--stack", "dev", "--out", str(tmp_path / "out")],
        cwd=project, capture_output=True, text=True, timeout=300, env={**clean_env(), "REPORT": str(report_file)},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "DjangoApp ledger" in result.stdout
    report = json.loads(report_file.read_text())
    assert report["team"] == "payments"
    assert report["components_file"] == str(project / "components" / "__init__.py")
    assert report["foreign_components_modules"] == []  # nothing of ours is named components.*
    assert report["package"].startswith(str(wheel_python.parent.parent))
    assert report["typed"] is True
    assert {r.split(">")[0].split("<")[0] for r in report["requires"]} >= {
        "pulumi",
        "pulumi-kubernetes",
        "pulumi-aws",
        "pulumi-random",
    }


def test_the_wheel_holds_one_import_package_and_no_components_module(root, wheel_python):
    listing = subprocess.run(
        [str(wheel_python), "-c", "import importlib.metadata as md; print('\\n'.join(str(f) for f in md.files('pulumi-djangoapp')))"],
        capture_output=True, text=True, timeout=60, env=clean_env(), cwd=root.parent,
    )  # fmt: skip
    assert listing.returncode == 0, listing.stderr
    tops = {line.split("/")[0] for line in listing.stdout.split() if line.endswith(".py")}
    assert tops == {"pulumi_djangoapp"}


def readme_consumer(root) -> dict[str, str]:
    """The minimal consumer project exactly as the README shows it: each block after a
    `<!-- consumer: FILE -->` marker."""
    text = (root / "README.md").read_text()
    blocks = re.findall(r"<!-- consumer: (\S+) -->\n```\w*\n(.*?)```", text, flags=re.S)
    return {name: body for name, body in blocks}


def test_readme_minimal_consumer_installs_from_its_requirements_and_renders(root, tmp_path):
    files = readme_consumer(root)
    assert set(files) == {"Pulumi.yaml", "requirements.txt", "__main__.py"}
    (tmp_path / "pulumi-djangoapp").symlink_to(root)  # "a clone next to your project"
    project = tmp_path / "shop-infra"
    project.mkdir()
    for name, body in files.items():
        (project / name).write_text(body)
    python = fresh_venv(tmp_path / "venv")
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "-r", "requirements.txt"],
        cwd=project, capture_output=True, text=True, timeout=300, env=clean_env(),
    )  # fmt: skip
    assert install.returncode == 0, install.stderr
    result = subprocess.run(
        [str(python), "-m", "pulumi_djangoapp.render", "--stack", "dev", "--out", str(tmp_path / "out")],
        cwd=project, capture_output=True, text=True, timeout=300, env=clean_env(),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    docs = [d for d in yaml.safe_load_all((tmp_path / "out" / "kubernetes.yaml").read_text()) if d]
    (deployment,) = [d for d in docs if d["kind"] == "Deployment"]
    assert (
        deployment["spec"]["template"]["spec"]["containers"][0]["image"]
        == "ghcr.io/acme/shop:1.4.2"
    )


def tmp_module(source):
    import importlib.util
    import tempfile

    folder = Path(tempfile.mkdtemp())
    (folder / "bare_component.py").write_text(source)
    spec = importlib.util.spec_from_file_location("bare_component", folder / "bare_component.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["bare_component"] = module
    spec.loader.exec_module(module)
    return module

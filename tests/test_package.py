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
from pulumi.provider.experimental.analyzer import Analyzer
from pulumi.provider.experimental.component import ComponentProvider
from pulumi.provider.experimental.schema import generate_schema

import components
from components import DjangoApp, DjangoAppArgs
from components.config_bucket import ConfigBucketArgs
from harness import run_program



def provider_module(root):
    import importlib.util

    spec = importlib.util.spec_from_file_location("djangoapp_provider", root / "provider" / "__main__.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # guarded by __name__ == "__main__": does not start a server
    return module


@pytest.fixture(scope="module")
def schema(root):
    provider = provider_module(root)
    analysis = Analyzer(provider.PACKAGE).analyze(provider.COMPONENTS)
    spec = generate_schema(
        provider.PACKAGE, components.__version__, None,
        analysis["component_definitions"], analysis["type_definitions"], list(analysis["dependencies"]),
    )  # fmt: skip
    document = spec.to_json()
    return json.loads(document) if isinstance(document, str) else document


def camel(name):
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


def test_schema_publishes_both_components_under_the_component_type_tokens(schema):
    assert set(schema["resources"]) == {components.TYPE_TOKEN, "djangoapp:index:ConfigBucket"}
    assert schema["resources"][components.TYPE_TOKEN]["isComponent"] is True
    assert schema["version"] == components.__version__


def test_schema_has_every_argument_with_a_description_stating_its_default(schema):
    resource = schema["resources"][components.TYPE_TOKEN]
    assert set(resource["inputProperties"]) == {camel(k) for k in DjangoAppArgs.__annotations__}
    for name, prop in resource["inputProperties"].items():
        assert re.search(r"Default|Required", prop["description"]), name
    assert resource["requiredInputs"] == ["image"]
    bucket = schema["resources"]["djangoapp:index:ConfigBucket"]
    assert set(bucket["inputProperties"]) == {camel(k) for k in ConfigBucketArgs.__annotations__}


def test_schema_lists_every_output(schema):
    outputs = set(schema["resources"][components.TYPE_TOKEN]["properties"])
    assert outputs == {
        "namespace", "deploymentName", "serviceName", "databaseServiceName", "effectivePodRequests",
        "effectivePodLimits", "bucketName", "configPrefix", "secretArn", "roleArn",
    }  # fmt: skip


def test_nested_arg_types_are_published_with_their_required_fields(schema):
    sidecar = schema["types"]["djangoapp:index:SidecarArgs"]
    assert set(sidecar["required"]) == {"name", "image"}
    assert "startupProbe" in sidecar["properties"] and "volumeMounts" in sidecar["properties"]


def test_cluster_facts_may_be_outputs_of_another_stack(schema):
    props = schema["resources"][components.TYPE_TOKEN]["inputProperties"]
    assert not props["oidcProviderArn"].get("plain")
    assert props["replicas"]["plain"] is True


def test_args_arriving_as_schema_dicts_build_the_same_component(root):
    """What a TypeScript or YAML program sends: camelCase keys, nested plain dicts."""
    provider = provider_module(root)
    host = ComponentProvider(provider.COMPONENTS, provider.PACKAGE, None, components.__version__)
    inputs = {
        "image": "ghcr.io/acme/shop:1.4.2",
        "replicas": 3,
        "secretsBackend": "kubernetes",
        "sidecars": [{"name": "log-shipper", "image": "fluent/fluent-bit:3.2.4", "volumeMounts": {"logs": "/l"}}],
        "database": {"storageSize": "20Gi"},
    }
    args = host.map_inputs(inputs, host._component_defs["DjangoApp"])
    run = run_program(lambda: DjangoApp("shop", args).namespace)
    spec = run.one("Deployment").inputs["spec"]
    assert spec["replicas"] == 3
    assert spec["template"]["spec"]["initContainers"][0]["volumeMounts"][0]["mountPath"] == "/l"
    assert run.one("StatefulSet").inputs["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] == "20Gi"


def test_plugin_file_names_the_python_runtime(root):
    assert "runtime: python" in (root / "provider" / "PulumiPlugin.yaml").read_text()


def requirement_names(lines):
    return {re.split(r"[<>=!~ \[]", line.strip(), maxsplit=1)[0].lower(): line.strip() for line in lines if line.strip() and not line.startswith(("#", "-"))}


def test_package_dependencies_match_requirements(root):
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    declared = requirement_names(project["dependencies"])
    required = requirement_names((root / "requirements.txt").read_text().splitlines())
    assert declared == required
    assert all(re.search(r">=.*,<", spec) for spec in declared.values()), "pin compatible ranges"


def test_wheel_installs_into_a_fresh_venv_and_works_outside_the_repo(root, tmp_path):
    wheels = tmp_path / "wheels"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels), str(root)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr
    (wheel,) = wheels.glob("pulumi_djangoapp-*.whl")
    assert wheel.name.startswith(f"pulumi_djangoapp-{components.__version__}-")

    fresh = tmp_path / "fresh"
    venv.create(fresh, with_pip=True)
    python = fresh / "bin" / "python"
    install = subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", str(wheel)], capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr
    # The dependencies come from this venv's site-packages (appended after the fresh venv's own,
    # so `components` can only come from the wheel); pip would fetch the same from PyPI.
    site = next((fresh / "lib").glob("python3*/site-packages"))
    dev_site = next(p for p in sys.path if p.endswith("site-packages") and Path(p).is_dir())
    (site / "deps.pth").write_text(dev_site + "\n")

    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "program.py").write_text(
        "import json, pulumi, components, importlib.metadata as md\n"
        "from components import DjangoApp\n"
        "class M(pulumi.runtime.Mocks):\n"
        "    def new_resource(self, a): return a.name + '-id', dict(a.inputs, result='x', arn='a', bucket='b')\n"
        "    def call(self, a): return {'region': 'eu-west-3'}, []\n"
        "pulumi.runtime.set_mocks(M(), preview=False)\n"
        "seen = {}\n"
        "@pulumi.runtime.test\n"
        "def run():\n"
        "    app = DjangoApp('shop', {'image': 'ghcr.io/acme/shop:1.4.2'})\n"
        "    return app.effective_pod_requests.apply(lambda v: seen.setdefault('requests', v))\n"
        "run()\n"
        "print(json.dumps({'file': components.__file__, 'requests': seen['requests'],\n"
        "                  'requires': md.requires('pulumi-djangoapp'), 'typed': (__import__('pathlib').Path(components.__file__).parent / 'py.typed').exists()}))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    result = subprocess.run([str(python), "program.py"], cwd=outside, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["file"].startswith(str(fresh))
    assert report["requests"] == {"cpu": "250m", "memory": "256Mi"}
    assert report["typed"] is True
    assert {r.split(">")[0].split("<")[0] for r in report["requires"]} >= {"pulumi", "pulumi-kubernetes", "pulumi-aws", "pulumi-random"}

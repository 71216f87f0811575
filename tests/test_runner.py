"""The runner runs a program as the engine does (pulumi/pulumi pkg/engine/project.go getPwdMain,
sdk/python/cmd/pulumi-language-python-exec, sdk/go/common/workspace/project.go
ValidateConfigValue). These tests build small projects and look from inside the program."""

import json
import os
import sys
from pathlib import Path

import pytest
from harness import fake_password, run_project
from pulumi.output import Unknown

from pulumi_djangoapp.tools import runner

PROBE = """
import json, os, sys
import pulumi
facts = {
    "cwd": os.getcwd(),
    "sys_path": [os.path.realpath(p or os.getcwd()) for p in sys.path],
    "root_directory": pulumi.get_root_directory(),
    "replicas": pulumi.Config().get("replicas"),
    "debug": pulumi.Config().get("debug"),
}
try:
    import rootonly  # lives next to Pulumi.yaml
    facts["root_module"] = "imported"
except ImportError:
    facts["root_module"] = "not importable"
try:
    import sibling  # lives next to the program
    facts["sibling"] = sibling.VALUE
except ImportError:
    facts["sibling"] = "not importable"
with open(os.environ["PROBE_OUT"], "w") as out:
    json.dump(facts, out)
"""


def make_project(
    tmp_path, main="prog/", stack_yaml="config:\n  probe:replicas: 3\n  probe:debug: true\n"
):
    root = tmp_path / "project"
    (root / "prog").mkdir(parents=True)
    (root / "Pulumi.yaml").write_text(
        f"name: probe\nruntime: python\nmain: {main}\n"
        "config:\n  replicas:\n    type: integer\n    default: 1\n  debug:\n    type: boolean\n    default: false\n"
    )
    (root / "Pulumi.dev.yaml").write_text(stack_yaml)
    (root / "rootonly.py").write_text("VALUE = 'root'\n")
    program = root / "prog" / ("__main__.py" if main.endswith("/") else Path(main).name)
    program.write_text(PROBE)
    (root / "prog" / "sibling.py").write_text("VALUE = 'sibling'\n")
    return root.resolve()


def probe(tmp_path, monkeypatch, root, cwd=None):
    out = tmp_path / "facts.json"
    monkeypatch.setenv("PROBE_OUT", str(out))
    # Run from the root with '' first on sys.path, as `python -m pytest` from the repo does:
    # the runner must still keep the root off sys.path.
    monkeypatch.chdir(cwd or root)
    monkeypatch.setattr(sys, "path", ["", *sys.path])
    run_project(root, "dev")
    return json.loads(out.read_text())


def test_program_folder_is_the_working_directory_and_first_on_sys_path(tmp_path, monkeypatch):
    root = make_project(tmp_path)
    facts = probe(tmp_path, monkeypatch, root)
    assert facts["cwd"] == str(root / "prog")
    assert facts["sys_path"][0] == str(root / "prog")
    assert facts["sibling"] == "sibling"


def test_project_root_is_the_root_directory_but_cannot_be_imported_from(tmp_path, monkeypatch):
    root = make_project(tmp_path)
    facts = probe(tmp_path, monkeypatch, root)
    assert facts["root_directory"] == str(root)
    assert str(root) not in facts["sys_path"]
    assert facts["root_module"] == "not importable"


def test_a_main_file_runs_in_its_own_folder(tmp_path, monkeypatch):
    root = make_project(tmp_path, main="prog/program.py")
    facts = probe(tmp_path, monkeypatch, root, cwd=tmp_path)
    assert facts["cwd"] == str(root / "prog")
    assert facts["root_directory"] == str(root)


def test_config_reaches_the_program_as_strings_typed_by_the_project(tmp_path, monkeypatch):
    root = make_project(tmp_path)
    facts = probe(tmp_path, monkeypatch, root)
    assert facts["replicas"] == "3" and facts["debug"] == "true"


def test_working_directory_and_sys_path_are_restored_even_when_the_program_fails(tmp_path):
    root = make_project(tmp_path)
    (root / "prog" / "__main__.py").write_text("raise RuntimeError('boom')\n")
    cwd, path = os.getcwd(), list(sys.path)
    with pytest.raises(Exception, match="boom"):
        run_project(root, "dev")
    assert os.getcwd() == cwd and sys.path == path


def test_modules_of_one_program_are_not_seen_by_the_next(tmp_path, monkeypatch):
    first = make_project(tmp_path / "a")
    second = make_project(tmp_path / "b")
    (second / "prog" / "sibling.py").write_text("VALUE = 'second'\n")
    probe(tmp_path, monkeypatch, first)
    assert probe(tmp_path, monkeypatch, second)["sibling"] == "second"


@pytest.mark.parametrize("value", ["3", "-2", "+4", "007"])
def test_integer_config_can_be_anything_go_atoi_parses(tmp_path, value):
    project = runner.load_project(make_project(tmp_path))
    config, _ = runner.stack_config(project, "dev", [f"replicas={value}"])
    assert config["probe:replicas"] == value


@pytest.mark.parametrize("value", ["3.0", " 3", "0x10", "", "three", "99999999999999999999"])
def test_integer_config_cannot_be_what_the_engine_refuses(tmp_path, value):
    project = runner.load_project(make_project(tmp_path))
    with pytest.raises(runner.ProgramError, match="probe:replicas"):
        runner.stack_config(project, "dev", [f"replicas={value}"])


@pytest.mark.parametrize("value", ["True", "yes", "1", "FALSE"])
def test_boolean_config_cannot_be_other_than_true_or_false(tmp_path, value):
    project = runner.load_project(make_project(tmp_path))
    with pytest.raises(runner.ProgramError, match="probe:debug"):
        runner.stack_config(project, "dev", [f"debug={value}"])


def test_a_stack_without_a_file_runs_on_project_defaults_only_where_no_stack_file_exists(tmp_path):
    root = make_project(tmp_path)
    project = runner.load_project(root)
    with pytest.raises(runner.ProgramError, match="Pulumi.nope.yaml"):
        runner.stack_config(project, "nope")
    (root / "Pulumi.dev.yaml").unlink()
    config, _ = runner.stack_config(project, "ci")
    assert config == {"probe:replicas": "1", "probe:debug": "false"}


CLOUD_PROGRAM = """
import pulumi, pulumi_aws as aws, pulumi_random as random, pulumi_kubernetes as k8s
bucket = aws.s3.Bucket("bucket", bucket_prefix="shop-")
password = random.RandomPassword("password", length=24)
k8s.core.v1.ConfigMap("facts", data={"bucket": bucket.bucket, "arn": bucket.arn, "prefix": bucket.bucket_prefix})
k8s.core.v1.Secret("secret", string_data={"password": password.result})
"""


def cloud_project(tmp_path):
    root = tmp_path / "cloud"
    root.mkdir()
    (root / "Pulumi.yaml").write_text("name: cloud\nruntime: python\n")
    (root / "__main__.py").write_text(CLOUD_PROGRAM)
    return root


def test_first_preview_leaves_ids_and_cloud_computed_values_unknown(tmp_path):
    run = run_project(cloud_project(tmp_path), "dev", preview=True)
    data = run.one("ConfigMap").raw_inputs["data"]
    assert isinstance(data["bucket"], Unknown) and isinstance(data["arn"], Unknown)
    assert data["prefix"] == "shop-"  # an input is known before the resource exists
    # The SDK makes the whole map unknown when one of its values is.
    assert isinstance(run.one("Secret").inputs["stringData"], Unknown)


def test_up_mode_knows_what_the_cloud_returned(tmp_path):
    run = run_project(cloud_project(tmp_path), "dev")
    data = run.one("ConfigMap").inputs["data"]
    assert data["bucket"] == "bucket-bucket-1a2b3c" and data["arn"].startswith("arn:aws:s3:::")
    # pulumi-random's length, as the mocks honour it.
    assert run.one("Secret").inputs["stringData"]["password"] == fake_password("password", 24)


def test_a_program_outside_its_project_is_refused(tmp_path):
    root = make_project(tmp_path)
    with pytest.raises(runner.ProgramError, match="not inside the project"):
        runner.load_project(root, tmp_path)


def test_a_virtualenv_inside_the_program_folder_is_not_forgotten_with_the_programs_modules(
    tmp_path,
):
    # #27: the README's consumer keeps its venv in its folder (virtualenv: venv); the runner
    # forgot every module under the folder, the venv's pulumi and the running render included.
    import sys
    import types

    from pulumi_djangoapp.tools import runner

    (tmp_path / "Pulumi.yaml").write_text(
        "name: consumer\nruntime:\n  name: python\n  options:\n    virtualenv: venv\n"
    )
    (tmp_path / "__main__.py").write_text("import program_helper\n")
    project = runner.load_project(tmp_path)
    installed = types.ModuleType("installed_in_project_venv")
    installed.__file__ = str(
        tmp_path / "venv" / "lib" / "python3.11" / "site-packages" / "installed_in_project_venv.py"
    )
    own = types.ModuleType("program_helper")
    own.__file__ = str(tmp_path / "program_helper.py")
    sys.modules.update({"installed_in_project_venv": installed, "program_helper": own})
    try:
        runner._forget_program_modules(project)
        assert "installed_in_project_venv" in sys.modules
        assert "program_helper" not in sys.modules
    finally:
        sys.modules.pop("installed_in_project_venv", None)
        sys.modules.pop("program_helper", None)

"""The public surface a move of code must keep: the package's names and every module path that the
stack program, the examples, the policy pack, the provider, the scripts, the Makefile and the README
import or run (`python -m ...`)."""

import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

import pulumi_djangoapp

ROOT = Path(__file__).resolve().parents[1]

PUBLIC_NAMES = {
    "AutoscalingArgs", "BackupArgs", "BrokerArgs", "HttpRouteArgs", "IngressArgs", "ProcessArgs", "RdsArgs",
    "ScheduleArgs", "ConfigBucket", "ConfigBucketArgs", "DjangoApp", "DjangoAppArgs", "PostgresArgs", "Problem",
    "ResourcesArgs", "SidecarArgs", "TYPE_TOKEN", "ValidationError",
}  # fmt: skip
# module path -> the names imported from it by those users
PUBLIC_MODULES = {
    "pulumi_djangoapp.render": {"main", "render", "write"},
    "pulumi_djangoapp.restore": {"main"},
    "pulumi_djangoapp.run": {"main"},
    "pulumi_djangoapp.runner": {"run", "load_project", "find_root", "ProgramError"},
    "pulumi_djangoapp.storage_class": {"StorageClassArgs", "create", "normalise"},
    "pulumi_djangoapp.settings": {"normalise", "Settings"},
    "pulumi_djangoapp.stack_config": {
        "args_from_config",
        "aws_provider_args",
        "storage_class_args",
        "with_config_keys",
    },
    "pulumi_djangoapp.config_bucket": {"ConfigBucket", "ConfigBucketArgs"},
}
CLIS = ("pulumi_djangoapp.render", "pulumi_djangoapp.restore", "pulumi_djangoapp.run")
USERS = ("stacks", "examples", "policy", "provider", "scripts", "e2e", "README.md", "Makefile")


def test_package_exports_exactly_the_public_names_and_a_version():
    assert set(pulumi_djangoapp.__all__) == PUBLIC_NAMES
    assert all(hasattr(pulumi_djangoapp, n) for n in PUBLIC_NAMES)
    assert re.fullmatch(r"\d+\.\d+\.\d+", pulumi_djangoapp.__version__)


@pytest.mark.parametrize("module", sorted(PUBLIC_MODULES))
def test_public_module_path_can_be_imported_with_its_names(module):
    imported = importlib.import_module(module)
    assert sorted(n for n in PUBLIC_MODULES[module] if not hasattr(imported, n)) == []


@pytest.mark.parametrize("module", CLIS)
def test_public_cli_can_be_run_with_python_dash_m(module):
    result = subprocess.run(
        [sys.executable, "-m", module, "--help"], capture_output=True, text=True, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout


def _referenced_modules():
    pattern = re.compile(r"pulumi_djangoapp((?:\.[a-z_]+)*)")
    found = {}
    for user in USERS:
        path = ROOT / user
        files = (
            [path]
            if path.is_file()
            else [p for p in path.rglob("*") if p.suffix in (".py", ".md", ".yaml")]
        )
        for file in files:
            if "__pycache__" in file.parts or file.name == "record_renders.py":
                continue
            for match in pattern.finditer(file.read_text()):
                parts = match.group(1).split(".")[1:]
                # keep module paths, not attributes such as __version__ or __file__
                module = "pulumi_djangoapp" + "".join(
                    f".{p}" for p in parts if not p.startswith("__")
                )
                found.setdefault(module, str(file.relative_to(ROOT)))
    return found


def test_every_module_path_its_users_name_is_listed_as_public():
    referenced = _referenced_modules()
    # scripts/mutation.py names the modules it mutates: a contributor tool, not a user's import.
    # e2e/lifecycle.py builds the component's objects itself to hand them to the real engine.
    internal = {
        m for m, where in referenced.items() if where in ("scripts/mutation.py", "e2e/lifecycle.py")
    }
    unlisted = {
        m: w
        for m, w in referenced.items()
        if m not in internal and m != "pulumi_djangoapp" and m not in PUBLIC_MODULES
    }
    assert unlisted == {}


def test_an_unlisted_module_path_in_a_user_file_cannot_pass(tmp_path, monkeypatch):
    # Negative control: the scan finds a module path named in a README line.
    readme = tmp_path / "README.md"
    readme.write_text("run `python -m pulumi_djangoapp.somewhere_else`\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    monkeypatch.setattr(sys.modules[__name__], "USERS", ("README.md",))
    assert "pulumi_djangoapp.somewhere_else" in _referenced_modules()

"""Stack files of earlier releases (tests/releases/<version>/, as that release shipped them) with
today's program: they keep working, or every key that must change is named in one run with its
exact replacement."""

import re
import shutil
import subprocess
import sys

import pytest
import yaml
from conftest import ROOT

RELEASES = ROOT / "tests" / "releases"
# What each 0.1.0 stack file must change, by config key, and the words of the replacement.
EXPECTED_0_1 = {
    "dev": {
        "kubeContext": "kubectl config current-context",
        "env": "djangoapp:wayIn and djangoapp:hosts",
    },
    "staging": {
        "kubeContext": "kubectl config current-context",
        "env": "djangoapp:wayIn and djangoapp:hosts",
    },
    "prod": {
        "kubeContext": "kubectl config current-context",
        "env": "djangoapp:wayIn and djangoapp:hosts",
        "kubernetesVersion": "1.32 or newer",
    },
    "local": {},
}


def project_with(tmp_path, stack, stack_file):
    """Today's project (Pulumi.yaml, stacks/, config/) with a given stack file."""
    for folder in ("stacks", "config"):
        shutil.copytree(
            ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copyfile(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    (tmp_path / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump(stack_file))
    return tmp_path


def render(project, stack):
    return subprocess.run(
        [sys.executable, "-m", "pulumi_djangoapp.render", "--program", str(project / "stacks"), "--stack", stack, "--out", str(project / "out")],
        capture_output=True,
        text=True,
        cwd=project,
    )  # fmt: skip


def old(version, stack):
    return yaml.safe_load((RELEASES / version / f"Pulumi.{stack}.yaml").read_text())


def reported_keys(stderr):
    return {m.group(1) for m in re.finditer(r"^  - djangoapp:(\w+)", stderr, flags=re.M)}


@pytest.mark.parametrize("stack", sorted(EXPECTED_0_1))
def test_a_0_1_stack_file_names_every_key_to_change_in_one_run(tmp_path, stack):
    result = render(project_with(tmp_path, stack, old("0.1.0", stack)), stack)
    expected = EXPECTED_0_1[stack]
    if not expected:
        assert result.returncode == 0, result.stderr
        return
    assert result.returncode != 0
    assert reported_keys(result.stderr) == set(expected), result.stderr
    for key, replacement in expected.items():
        line = next(
            line for line in result.stderr.splitlines() if line.startswith(f"  - djangoapp:{key}")
        )
        assert replacement in line, line


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_a_0_1_stack_file_works_once_the_named_changes_are_made(tmp_path, stack):
    config = old("0.1.0", stack)["config"]
    config["djangoapp:kubeContext"] = f"shop-{stack}"
    config["djangoapp:env"] = [
        e for e in config["djangoapp:env"] if not e.startswith("DJANGO_ALLOWED_HOSTS=")
    ]
    if "djangoapp:kubernetesVersion" in config:
        config["djangoapp:kubernetesVersion"] = "1.32"
    result = render(project_with(tmp_path, stack, {"config": config}), stack)
    assert result.returncode == 0, result.stderr


def test_an_emptied_list_is_named_with_how_to_write_an_empty_one(tmp_path):
    # The engine refuses null for an array key (pulumi pkg/workspace/config.go, measured with
    # the real CLI v3.260.0: "must be of type 'array<string>'"); say how to write it instead.
    config = old("0.1.0", "local")["config"]
    config["djangoapp:env"] = None
    result = render(project_with(tmp_path, "local", {"config": config}), "local")
    assert result.returncode != 0
    assert (
        "djangoapp:env: has no items (null), not a list: write an empty list as []" in result.stderr
    )


def test_an_unchanged_current_stack_file_cannot_fail_the_upgrade_check(tmp_path):
    # Negative control of the harness: today's own dev stack file renders in the copied project.
    current = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())
    assert render(project_with(tmp_path, "dev", current), "dev").returncode == 0

"""The Makefile's own steps, as `make -n` prints them (nothing runs)."""

import subprocess

import pytest
from conftest import ROOT

INSTALLING_TARGETS = ("redis", "graphviz", "tools", "postgres")


def printed(target: str, uid: str) -> str:
    result = subprocess.run(
        ["make", "-n", target, f"ID_U={uid}"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("target", INSTALLING_TARGETS)
def test_a_user_who_is_not_root_installs_missing_tools_through_sudo(target):
    # #27: `make render` called apt-get without sudo for a non-root user.
    text = printed(target, "1000")
    assert "sudo env DEBIAN_FRONTEND=noninteractive apt-get install" in text
    assert text.count("apt-get") == text.count("sudo env DEBIAN_FRONTEND=noninteractive apt-get")


@pytest.mark.parametrize("target", INSTALLING_TARGETS)
def test_root_installs_missing_tools_without_sudo(target):
    text = printed(target, "0")
    assert "env DEBIAN_FRONTEND=noninteractive apt-get install" in text and "sudo" not in text


def test_a_render_can_go_on_without_graphviz():
    assert "could not be installed: the pictures stay .dot files" in printed("graphviz", "1000")


def test_make_test_runs_ruff_check_and_format_check_on_package_tests_scripts_and_programs():
    text = printed("test", "0")
    for command in ("ruff check", "ruff format --check"):
        line = next(line for line in text.splitlines() if command in line)
        assert all(
            folder in line.split()
            for folder in ("components", "tests", "scripts", "stacks", "examples", "policy")
        )


def test_ruff_cannot_pass_an_unused_import_or_an_unformatted_file(tmp_path):
    # Negative control, with the repository's own rules (pyproject.toml).
    ruff = ROOT / ".venv" / "bin" / "ruff"
    sample = tmp_path / "sample.py"
    sample.write_text("import os\nx  =  1\n")
    config = ["--config", str(ROOT / "pyproject.toml")]
    assert subprocess.run([ruff, "check", *config, sample], capture_output=True).returncode == 1
    assert (
        subprocess.run([ruff, "format", "--check", *config, sample], capture_output=True).returncode
        == 1
    )

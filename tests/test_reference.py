"""The README's reference tables are generated from the docstrings: they cannot drift."""

import subprocess
import sys

from conftest import ROOT

from pulumi_djangoapp.tools import reference


def test_the_readme_reference_tables_are_the_docstrings():
    result = subprocess.run(
        [sys.executable, "-m", "pulumi_djangoapp.tools.reference", "--check", "README.md"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


def test_every_argument_type_and_output_has_a_table_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    for name in [*reference.ARGUMENT_TYPES, "DjangoApp.outputs", "ConfigBucket.outputs"]:
        assert f"<!-- reference: {name} -->" in readme, name


def test_a_stale_table_cannot_pass_the_check(tmp_path):
    # Negative control: a table edited by hand is out of date.
    readme = tmp_path / "README.md"
    text = reference.regenerate((ROOT / "README.md").read_text())
    readme.write_text(text.replace("Default: `8000`.", "Default: `8080`.", 1))
    assert reference.main([str(readme), "--check"]) == 1
    assert reference.main([str(readme), "--write"]) == 0 and readme.read_text() == text


def test_every_field_and_output_has_a_docstring():
    undocumented = [
        f"{name}.{field}"
        for name, cls in reference.ARGUMENT_TYPES.items()
        for field, _, doc in reference.documented_fields(cls)
        if not doc.strip()
    ]
    outputs = {field: doc for field, _, doc in reference.documented_fields(reference.DjangoApp)}
    undocumented += [o for o in reference.OUTPUTS if not outputs[o].strip()]
    assert undocumented == []

"""A behaviour-neutral change renders every stack and the consumer example byte for byte as recorded.

The recordings under tests/renders/ were made by scripts/record_renders.py; a commit that changes
behaviour re-records them, so its render diff is reviewed with the code.
"""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location(
    "record_renders", ROOT / "scripts" / "record_renders.py"
)
record_renders = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(record_renders)


@pytest.mark.parametrize(
    ("folder", "program", "stack"), record_renders.PROGRAMS, ids=lambda v: str(v)
)
def test_render_is_byte_identical_to_the_recorded_render(tmp_path, folder, program, stack):
    record_renders.render(program, stack, tmp_path)
    recorded = ROOT / "tests" / "renders" / folder
    differing = [
        n for n in record_renders.KEPT if (tmp_path / n).read_bytes() != (recorded / n).read_bytes()
    ]
    assert differing == [], f"{folder}: {differing} differ from tests/renders/{folder}"


def test_recorded_render_comparison_cannot_pass_a_changed_render(tmp_path):
    # Negative control: one changed byte in a fresh render is a difference the comparison sees.
    record_renders.render(None, "dev", tmp_path)
    changed = (tmp_path / "kubernetes.yaml").read_bytes().replace(b"replicas: ", b"replicas:  ", 1)
    assert changed != (ROOT / "tests" / "renders" / "dev" / "kubernetes.yaml").read_bytes()
    assert (tmp_path / "kubernetes.yaml").read_bytes() == (
        ROOT / "tests" / "renders" / "dev" / "kubernetes.yaml"
    ).read_bytes()

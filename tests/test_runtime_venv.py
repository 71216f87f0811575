"""Every shipped program runs with nothing but what `pulumi up` installs: requirements.txt
(`make test` builds .venv-runtime from it alone), no dev dependency, through the runner."""

import json
import subprocess
from pathlib import Path

import pytest
from test_stack_config import STACKS

RENDER_ALL = """
import json, sys
from pathlib import Path
from pulumi_djangoapp.tools import render
root = Path(sys.argv[1])
programs = [(root / "stacks", s) for s in sys.argv[2:]] + [(root / "examples" / "consumer", "dev")]
counts = {}
for program, stack in programs:
    for preview in (False, True):
        result = render.render(program, stack, preview=preview)
        counts[f"{program.name}/{stack}/{'preview' if preview else 'up'}"] = len(result.kubernetes)
found = []
for module in ("pytest", "moto", "django", "kubernetes_validate", "boto3"):
    try:
        __import__(module)
        found.append(module)
    except ImportError:
        pass
print(json.dumps({"counts": counts, "dev_modules_importable": found}))
"""


@pytest.fixture(scope="module")
def runtime_python(root) -> Path:
    python = root / ".venv-runtime" / "bin" / "python"
    if not python.is_file():
        pytest.fail("no .venv-runtime: `make test` builds it from requirements.txt alone")
    return python


def test_each_stack_and_the_consumer_run_with_only_the_runtime_requirements(root, runtime_python):
    result = subprocess.run(
        [str(runtime_python), "-c", RENDER_ALL, str(root), *STACKS],
        cwd=root, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["dev_modules_importable"] == []  # really a runtime-only venv
    expected = {f"stacks/{s}/{mode}" for s in STACKS for mode in ("up", "preview")}
    expected |= {"consumer/dev/up", "consumer/dev/preview"}
    assert set(report["counts"]) == expected
    assert all(count >= 10 for count in report["counts"].values()), report["counts"]

"""Record the offline render of every stack and of the consumer example under tests/renders/.

A move of code that must not change behaviour is proven by ``tests/test_recorded_renders.py``:
every file recorded here is rendered again and compared byte for byte. Re-record only in a commit
whose render diff is exactly the behaviour it changes: ``python scripts/record_renders.py``.
The pictures (``*.svg``) are left out: Graphviz's layout differs between its versions.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from pulumi_djangoapp.tools.render import OUT_FILES

ROOT = Path(__file__).resolve().parents[1]
RECORDED = ROOT / "tests" / "renders"
# (folder under tests/renders, program folder or None for the project's own, stack)
PROGRAMS = (
    ("dev", None, "dev"),
    ("staging", None, "staging"),
    ("prod", None, "prod"),
    ("local", None, "local"),
    ("consumer", "examples/consumer", "dev"),
)
# Every file a render writes but the pictures (Graphviz's layout differs between its versions).
KEPT = tuple(name for name in OUT_FILES if not name.endswith(".svg"))


def render(program: str | None, stack: str, out: Path) -> None:
    where = ["--program", program] if program else []
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pulumi_djangoapp.render",
            *where,
            "--stack",
            stack,
            "--out",
            str(out),
        ],
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def main() -> None:
    shutil.rmtree(RECORDED, ignore_errors=True)
    with tempfile.TemporaryDirectory() as tmp:
        for folder, program, stack in PROGRAMS:
            out = Path(tmp) / folder
            render(program, stack, out)
            (RECORDED / folder).mkdir(parents=True)
            for name in KEPT:
                shutil.copyfile(out / name, RECORDED / folder / name)
    print(f"recorded {len(PROGRAMS)} renders under {RECORDED.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

"""Mutation testing: would the unit tests notice if the code that carries security and
correctness changed? (`make mutation`; CONTRIBUTING "Mutation testing".)

Two passes, one report:

1. **mutmut 3** on function bodies. mutmut only knows the ``./``, ``src/`` and ``source/``
   layouts, and the package lives in ``components/``: the run happens in ``build/mutation/``,
   which holds ``src/pulumi_djangoapp`` (a copy) and what the tests read. mutmut puts its mutated
   copy first on ``sys.path``, ahead of the editable install's finder, and checks with a forced
   failure that its trampolines are what the tests call. Exhaustive on ``EXHAUSTIVE``; a fixed-seed
   sample of ``SAMPLE_SIZE`` mutants per module of ``SAMPLED``.
2. **Constants**, which mutmut does not mutate: each module-level constant of ``CONSTANT_MODULES``
   gets mutants (a regex anchor dropped, an element of a deny-list or reserved-name list removed,
   a number moved by one, a default doubled, a name changed), each run with ``pytest -x`` on the
   module's tests in a process whose ``PYTHONPATH`` puts the mutated package first. A **canary**
   (``Mi`` of ``quantities`` off by one, which the documented examples pin) must be killed, or the run stops: the tests
   would be testing the originals.

Prints, per module: mutants, killed, survived, timed out, other, kill rate (killed / (killed +
survived)) and the survivors; writes ``build/mutation/report.json``. Equivalent survivors (no
behaviour change) are listed in ``EQUIVALENT`` with the reason, and in the README.
"""

from __future__ import annotations

import argparse
import ast
import fnmatch
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "components" / "pulumi_djangoapp"
WORK = ROOT / "build" / "mutation"
PYTHON = ROOT / ".venv" / "bin" / "python"
SEED = 20261126
SAMPLE_SIZE = 25

# Modules mutated exhaustively by mutmut (the list, and what came after it).
EXHAUSTIVE = (
    "builders.effective_resources", "settings.quantities", "settings.checks", "builders.migrations",
    "builders.workload_identity", "builders.network_policies", "builders.app",
)  # fmt: skip
# Sampled with SEED, in groups that share one mutmut workspace (one stats run): a tenth of each
# module's mutants, a twentieth where every test is a whole component run (RDS).
SAMPLE_GROUPS = {
    "settings": (
        (
            "settings.app",
            "settings.database",
            "settings.sidecars",
            "settings.env",
            "settings.resources",
        ),
        10,
    ),
    "data": (("settings.rds", "builders.rds"), 20),
    "edges": (
        (
            "builders.fetch",
            "settings.broker",
            "builders.broker",
            "settings.way_in",
            "builders.way_in",
        ),
        10,
    ),
    "background": (
        (
            "settings.processes",
            "builders.processes",
            "settings.schedules",
            "builders.schedules",
            "settings.backups",
            "builders.backups",
            "settings.autoscaling",
            "builders.autoscaling",
        ),
        10,
    ),
}
SAMPLED = tuple(m for modules, _ in SAMPLE_GROUPS.values() for m in modules)
# The tests each module answers to (its mirror first); the union is mutmut's selection. Slow
# end-to-end files (renders, wheels, venvs, checkov) are left to `make test`.
TESTS = {
    "builders.effective_resources": ["test_effective_resources.py", "test_app.py"],
    "settings.quantities": ["test_quantities.py", "test_effective_resources.py"],
    "settings.checks": ["test_checks.py", "test_settings.py"],
    "builders.migrations": ["test_migrations.py", "test_app.py"],
    "builders.workload_identity": [
        "test_workload_identity.py",
        "test_fetch.py",
        "test_network_policies.py",
    ],
    "builders.network_policies": ["test_network_policies.py"],
    "builders.app": [
        "test_app.py",
        "test_migrations.py",
        "test_processes.py",
        "test_schedules.py",
    ],
    "settings.rds": ["test_rds.py"],
    "builders.rds": ["test_rds.py"],
    "settings.app": ["test_settings.py", "test_app.py", "test_refusals.py"],
    "settings.database": ["test_settings.py", "test_app.py", "test_refusals.py"],
    "settings.sidecars": ["test_settings.py", "test_app.py", "test_refusals.py"],
    "settings.env": ["test_settings.py", "test_app.py", "test_refusals.py"],
    "settings.resources": ["test_settings.py", "test_app.py", "test_refusals.py"],
    "builders.fetch": ["test_fetch.py", "test_rds.py"],
    "settings.broker": ["test_broker.py"],
    "builders.broker": ["test_broker.py"],
    "settings.processes": ["test_processes.py"],
    "builders.processes": ["test_processes.py"],
    "settings.backups": ["test_backups.py"],
    "builders.backups": ["test_backups.py"],
    "settings.schedules": ["test_schedules.py"],
    "builders.schedules": ["test_schedules.py"],
    "settings.way_in": ["test_way_in.py"],
    "builders.way_in": ["test_way_in.py"],
    "settings.autoscaling": ["test_autoscaling.py"],
    "builders.autoscaling": ["test_autoscaling.py"],
}
# mutmut runs, per mutant, the tests of this selection that call the mutated function: the
# module's mirror file (pure builders, under a second for most).
MUTMUT_TESTS = {
    "builders.effective_resources": ["test_effective_resources.py"],
    "settings.quantities": ["test_quantities.py", "test_effective_resources.py"],
    "settings.checks": ["test_checks.py", "test_settings.py"],
    "builders.migrations": ["test_migrations.py"],
    "builders.workload_identity": ["test_workload_identity.py"],
    "builders.network_policies": ["test_network_policies.py"],
    "builders.app": ["test_app.py"],
    "settings.rds": ["test_rds.py"],
    "builders.rds": ["test_rds.py"],
    "settings.app": ["test_settings.py"],
    "settings.database": ["test_settings.py"],
    "settings.sidecars": ["test_settings.py"],
    "settings.env": ["test_settings.py"],
    "settings.resources": ["test_settings.py"],
    "builders.fetch": ["test_fetch.py"],
    "settings.broker": ["test_broker.py"],
    "builders.broker": ["test_broker.py"],
    "settings.processes": ["test_processes.py"],
    "builders.processes": ["test_processes.py"],
    "settings.backups": ["test_backups.py"],
    "builders.backups": ["test_backups.py"],
    "settings.schedules": ["test_schedules.py"],
    "builders.schedules": ["test_schedules.py"],
    "settings.way_in": ["test_way_in.py"],
    "builders.way_in": ["test_way_in.py"],
    "settings.autoscaling": ["test_autoscaling.py"],
    "builders.autoscaling": ["test_autoscaling.py"],
}
CONSTANT_MODULES = (
    "settings.quantities", "settings.checks", "builders.migrations", "builders.workload_identity",
    "builders.network_policies", "builders.app", "settings.app", "settings.rds", "builders.rds", "builders.fetch",
)  # fmt: skip
# What the tests read besides the package (copied into the mutmut workspace).
ALSO_COPY = ("tests", "scripts", "stacks", "config", "Pulumi.yaml", "Pulumi.dev.yaml", "Pulumi.staging.yaml",
             "Pulumi.prod.yaml", "Pulumi.local.yaml")  # fmt: skip

# Survivors that change no behaviour, by mutant name: why (constants listed here are not run).
EQUIVALENT: dict[str, str] = {
    "settings.rds._SUBNET: start anchor dropped": "ids_problem applies it with pattern.match, which anchors at the start",
    "settings.rds._SECURITY_GROUP: start anchor dropped": "ids_problem applies it with pattern.match, which anchors at the start",
    "pulumi_djangoapp.settings.checks.x__digest_problem__mutmut_3": (
        "partition vs rpartition on ':': IMAGE_REFERENCE lets exactly one ':' into a digest"
    ),
    "pulumi_djangoapp.settings.quantities.x_format_quantity__mutmut_16": (
        "the 'n' scale of the exact loop: the round-up after it computes the same nanos exactly"
    ),
    "pulumi_djangoapp.settings.checks.x_given_args__mutmut_16": (
        "'XXAEIOUXX' for 'AEIOU': no args TypedDict name starts with an X"
    ),
    "pulumi_djangoapp.settings.checks.x_storage_problems__mutmut_8": (
        "the QuantityError's message: the same function catches it and reports its own problem"
    ),
    "pulumi_djangoapp.builders.network_policies.x_db_admin_policy__mutmut_5": "with_broker=None is as false as False",
    "pulumi_djangoapp.builders.network_policies.x_network_policies__mutmut_39": (
        "backup_policy without refs: backups exist only with the in-cluster database, whose rule needs none"
    ),
    "pulumi_djangoapp.builders.network_policies.x_network_policies__mutmut_41": (
        "backup_policy without refs (keyword form): the same reason"
    ),
    "pulumi_djangoapp.builders.network_policies.x_backup_policy__mutmut_4": "backup_policy's refs: the same reason",
    "pulumi_djangoapp.builders.network_policies.x_backup_policy__mutmut_8": "backup_policy's refs: the same reason",
}


@dataclass
class Tally:
    mutants: int = 0
    killed: int = 0
    survived: int = 0
    timeout: int = 0
    other: int = 0
    survivors: list[str] = field(default_factory=list)
    # Equivalent mutants, not run: name -> why.
    equivalent: dict[str, str] = field(default_factory=dict)

    def add(self, name: str, status: str) -> None:
        if status.startswith("equivalent: "):
            self.equivalent[name] = status.removeprefix("equivalent: ")
            return
        self.mutants += 1
        if status == "killed":
            self.killed += 1
        elif status == "survived":
            self.survived += 1
            self.survivors.append(name)
        elif status == "timeout":
            self.timeout += 1
        else:
            self.other += 1

    @property
    def rate(self) -> float:
        checked = self.killed + self.survived
        return self.killed / checked if checked else 1.0


# --- pass 1: mutmut ----------------------------------------------------------------------


def _workspace(label: str, modules: tuple[str, ...]) -> Path:
    """``build/mutation/mutmut/<label>``: the package under ``src/`` (the layout mutmut knows)
    and what the tests read; mutmut mutates ``modules`` and runs their tests only."""
    work = WORK / "mutmut" / label
    if work.exists():
        shutil.rmtree(work)
    (work / "src").mkdir(parents=True)
    shutil.copytree(
        PACKAGE, work / "src" / "pulumi_djangoapp", ignore=shutil.ignore_patterns("__pycache__")
    )
    for name in ALSO_COPY:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, work / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif source.exists():
            shutil.copy(source, work / name)
    (work / "pyproject.toml").write_text(
        "[tool.mutmut]\n"
        'source_paths = ["src"]\n'
        f"only_mutate = {json.dumps(['src/pulumi_djangoapp/' + m.replace('.', '/') + '.py' for m in modules])}\n"
        f"also_copy = {json.dumps([n for n in ALSO_COPY if n != 'tests'])}\n"
        f"pytest_add_cli_args_test_selection = {json.dumps(sorted({f'tests/{t}' for m in modules for t in MUTMUT_TESTS[m]}))}\n"
        'pytest_add_cli_args = ["-p", "no:xdist", "-p", "no:cacheprovider", "-p", "no:warnings", "-q"]\n'
        # Workers fork from a server that has only collected the tests: the Pulumi runtime's
        # event loop and threads, once a test has run, do not survive a fork.
        'process_isolation = "forkserver"\n'
        'forkserver_warmup = "collect"\n'
        "\n[tool.pytest.ini_options]\n"
        'testpaths = ["tests"]\n'
        'filterwarnings = ["ignore::DeprecationWarning:pulumi_aws.*"]\n'
    )
    return work


def _mutmut(work: Path, *names: str) -> None:
    command = [str(ROOT / ".venv" / "bin" / "mutmut"), "run", "--max-children", "2", *names]
    result = subprocess.run(command, cwd=work, capture_output=True, text=True)
    if result.returncode != 0:
        shown = re.sub(r"[^\n]*\r", "", result.stdout)  # the progress lines
        raise SystemExit(
            f"mutmut run in {work} failed ({result.returncode}):\n{shown[-3000:]}\n{result.stderr[-2000:]}"
        )


def _mutmut_results(work: Path) -> dict[str, str]:
    """mutant name -> status, from mutmut's own files and exit-code table."""
    from mutmut.stats import status_by_exit_code

    found = {}
    for meta in (work / "mutants" / "src" / "pulumi_djangoapp").glob("*.py.meta"):
        for name, code in json.loads(meta.read_text())["exit_code_by_key"].items():
            found[name] = status_by_exit_code[code]
    return found


def _module_of(mutant: str) -> str:
    # pulumi_djangoapp.<layer>.<module>.x_<function>__mutmut_<n>
    return ".".join(mutant.split(".")[1:3])


def sample_pattern(module: str, one_in: int = 10) -> str:
    """A fixed-seed tenth (or twentieth) of a module's mutants: those whose number ends in the
    drawn digit (and, for a twentieth, has an even digit before it)."""
    digit = random.Random(f"{SEED}/{module}").choice("0123456789")
    return f"pulumi_djangoapp.{module}.*__mutmut_*{'[02468]' if one_in == 20 else ''}{digit}"


def mutmut_pass(modules=None) -> dict[str, Tally]:
    """Each exhaustive module in a workspace of its own (its mutants run its mirror tests only);
    the sampled modules together (one stats run for all, then only the drawn mutants)."""
    chosen = modules or (*EXHAUSTIVE, *SAMPLED)
    runs = [(m, (m,), [f"pulumi_djangoapp.{m}.*"]) for m in EXHAUSTIVE if m in chosen]
    for label, (group, one_in) in SAMPLE_GROUPS.items():
        picked = tuple(m for m in group if m in chosen)
        if picked:
            runs.append((label, picked, [sample_pattern(m, one_in) for m in picked]))
    tallies: dict[str, Tally] = {}
    if modules is None and (WORK / "mutmut").exists():
        shutil.rmtree(WORK / "mutmut")
    for label, group, patterns in runs:
        work = _workspace(label, group)
        _mutmut(work, *patterns)
        for name, status in sorted(_mutmut_results(work).items()):
            if status == "not checked" or not any(fnmatch.fnmatch(name, p) for p in patterns):
                continue
            module = _module_of(name)
            if status == "survived" and name in EQUIVALENT:
                status = f"equivalent: {EQUIVALENT[name]}"
            tallies.setdefault(
                f"mutmut {module}" + ("" if module in EXHAUSTIVE else " (sample)"), Tally()
            ).add(name, status)
    return tallies


# --- pass 2: constants -------------------------------------------------------------------


@dataclass
class ConstantMutant:
    module: str
    name: str  # e.g. "settings.SECRET_ENV: 'DATABASE_URL' removed"
    source: str  # the whole mutated module
    # Why it cannot change behaviour (then it is reported, not run).
    equivalent: str | None = None


_QUANTITY = re.compile(r"^([0-9]+)([A-Za-z]*)$")


def _is_constant_name(target: ast.expr) -> str | None:
    if isinstance(target, ast.Name) and re.fullmatch(r"_?[A-Z][A-Z0-9_]*", target.id):
        return target.id
    return None


def _literal(node: ast.AST) -> bool:
    try:
        ast.literal_eval(node)
        return True
    except ValueError:
        return False


def _variants(node: ast.expr, label: str):
    """(label, replacement node) for one constant value."""
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool):
            yield f"{label}: {value} -> {not value}", ast.Constant(not value)
        elif isinstance(value, int):
            yield f"{label}: {value} -> {value + 1}", ast.Constant(value + 1)
        elif isinstance(value, str) and "\n" not in value and len(value) < 200:
            if value.endswith("$") and not value.endswith("\\$"):
                yield f"{label}: end anchor dropped", ast.Constant(value[:-1])
            if value.startswith("^"):
                yield f"{label}: start anchor dropped", ast.Constant(value[1:])
            match = _QUANTITY.match(value)
            if match and not value.startswith("^"):
                yield (
                    f"{label}: {value} doubled",
                    ast.Constant(f"{int(match.group(1)) * 2}{match.group(2)}"),
                )
            elif not (value.endswith("$") or value.startswith("^")):
                yield f"{label}: {value!r} renamed", ast.Constant(value + "-x" if value else "x")
    elif isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        for index, element in enumerate(node.elts):
            shown = ast.unparse(element)[:40]
            yield (
                f"{label}: {shown} removed",
                _sequence(node, [e for i, e in enumerate(node.elts) if i != index]),
            )
        for index, element in enumerate(node.elts):
            for sub_label, replacement in _variants(element, f"{label}[{index}]"):
                elts = list(node.elts)
                elts[index] = replacement
                yield sub_label, _sequence(node, elts)
    elif isinstance(node, ast.BinOp):
        yield f"{label}: {ast.unparse(node)} + 1", ast.BinOp(node, ast.Add(), ast.Constant(1))
    elif isinstance(node, ast.Dict):
        for index, key in enumerate(node.keys):
            shown = ast.unparse(key)[:40] if key is not None else "**"
            yield (
                f"{label}: key {shown} removed",
                ast.Dict(
                    keys=[k for i, k in enumerate(node.keys) if i != index],
                    values=[v for i, v in enumerate(node.values) if i != index],
                ),
            )
            for sub_label, replacement in _variants(node.values[index], f"{label}[{shown}]"):
                values = list(node.values)
                values[index] = replacement
                yield sub_label, ast.Dict(keys=list(node.keys), values=values)
    elif isinstance(node, ast.Call) and isinstance(node.func, (ast.Attribute, ast.Name)):
        func = ast.unparse(node.func)
        if func in ("re.compile", "frozenset", "tuple", "Fraction") and node.args:
            for sub_label, replacement in _variants(node.args[0], label):
                yield (
                    sub_label,
                    ast.Call(
                        func=node.func, args=[replacement, *node.args[1:]], keywords=node.keywords
                    ),
                )


def _sequence(like: ast.expr, elts: list) -> ast.expr:
    if isinstance(like, ast.Set):
        return ast.Set(elts=elts) if elts else ast.Call(ast.Name("set", ast.Load()), [], [])
    return type(like)(elts=elts, ctx=ast.Load())


def constant_mutants(module: str) -> list[ConstantMutant]:
    path = PACKAGE / f"{module.replace('.', '/')}.py"
    text = path.read_text()
    lines = text.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    tree = ast.parse(text)
    mutants = []
    for statement in tree.body:
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            target, value = statement.targets[0], statement.value
        elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
            target, value = statement.target, statement.value
        else:
            continue
        name = _is_constant_name(target)
        if (
            name is None
            or isinstance(value, ast.Constant)
            and isinstance(value.value, str)
            and "\n" in value.value
        ):
            continue
        if not (_literal(value) or isinstance(value, (ast.Call, ast.Dict))):
            continue
        start = offsets[value.lineno - 1] + value.col_offset
        end = offsets[value.end_lineno - 1] + value.end_col_offset
        methods = _regex_methods(name)
        for label, replacement in _variants(value, f"{module}.{name}"):
            mutated = text[:start] + ast.unparse(replacement) + text[end:]
            mutants.append(
                ConstantMutant(
                    module,
                    label,
                    mutated,
                    EQUIVALENT.get(label) or _anchor_equivalence(label, methods),
                )
            )
    return mutants


def _regex_methods(name: str) -> set[str]:
    """How the package calls a compiled pattern ``name`` (match, fullmatch, search, ...)."""
    found: set[str] = set()
    for path in PACKAGE.glob("*.py"):
        found |= set(re.findall(rf"\b{re.escape(name)}\.(\w+)\(", path.read_text()))
    return found


def _anchor_equivalence(label: str, methods: set[str]) -> str | None:
    if not methods:
        return None
    if label.endswith("start anchor dropped") and methods <= {"match", "fullmatch"}:
        return "the pattern is only used with re.match/fullmatch, which anchor at the start"
    if label.endswith("end anchor dropped") and methods <= {"fullmatch"}:
        return "the pattern is only used with re.fullmatch, which anchors at the end"
    return None


CANARY = "quantities._SUFFIXES['Mi']: 2 ** 20 + 1"


def _overlay(mutant: ConstantMutant, overlay_root: Path) -> Path:
    overlay = overlay_root / re.sub(r"[^A-Za-z0-9]+", "_", mutant.name)[:120]
    package = overlay / "pulumi_djangoapp"
    shutil.copytree(PACKAGE, package, ignore=shutil.ignore_patterns("__pycache__"))
    (package / f"{mutant.module.replace('.', '/')}.py").write_text(mutant.source)
    return overlay


def _pytest_args(module: str) -> list[str]:
    return [
        "-x",
        "-q",
        "-p",
        "no:xdist",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:warnings",
        *[str(ROOT / "tests" / t) for t in TESTS[module]],
    ]


def _preload() -> None:
    """What every test process imports anyway, imported once before forking: the SDKs, pytest
    and the validators. Never the package itself: each child imports its mutated copy."""
    import kubernetes_validate  # noqa: F401
    import pulumi  # noqa: F401
    import pulumi_aws  # noqa: F401
    import pulumi_kubernetes  # noqa: F401
    import pulumi_random  # noqa: F401
    import pytest  # noqa: F401
    import yaml  # noqa: F401

    assert not any(name.startswith("pulumi_djangoapp") for name in sys.modules), (
        "the package must not be preloaded"
    )


def _child(overlay: Path, module: str, timeout: float) -> None:
    """In a forked child: the mutated copy first on sys.path, the module's tests, the exit code."""
    import signal

    import pytest

    signal.alarm(int(timeout))
    os.chdir(ROOT)
    sys.path.insert(0, str(overlay))
    with open(os.devnull, "w") as sink:
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
    code = pytest.main(_pytest_args(module))
    os._exit(int(code))


def _status(wait_status: int) -> str:
    if os.WIFSIGNALED(wait_status):
        return "timeout" if os.WTERMSIG(wait_status) == 14 else "other"  # SIGALRM: the time was up
    code = os.WEXITSTATUS(wait_status)
    # pytest: 0 passed, 1 a test failed, 2 interrupted (an error while collecting: the mutant
    # broke the import), 3 internal error, 5 no tests collected.
    return {0: "survived", 1: "killed", 2: "killed", 3: "killed"}.get(code, "other")


def _run_forked(jobs: list[tuple[ConstantMutant, Path, float]], workers: int = 2) -> dict[str, str]:
    """Run each (mutant, overlay, timeout) in a child forked from this preloaded process."""
    results: dict[str, str] = {}
    pending = list(jobs)
    running: dict[int, tuple[ConstantMutant, Path]] = {}
    while pending or running:
        while pending and len(running) < workers:
            mutant, overlay, timeout = pending.pop(0)
            pid = os.fork()
            if pid == 0:
                try:
                    _child(overlay, mutant.module, timeout)
                finally:
                    os._exit(70)
            running[pid] = (mutant, overlay)
        pid, wait_status = os.wait()
        mutant, overlay = running.pop(pid)
        results[mutant.name] = _status(wait_status)
        shutil.rmtree(overlay, ignore_errors=True)
    return results


def _run_constant(mutant: ConstantMutant, overlay_root: Path, timeout: float) -> str:
    return _run_forked([(mutant, _overlay(mutant, overlay_root), timeout)])[mutant.name]


def _imports_the_overlay(overlay_root: Path) -> bool:
    """The editable install must lose to PYTHONPATH: the tests' process imports the copy."""
    overlay = overlay_root / "which"
    shutil.copytree(
        PACKAGE, overlay / "pulumi_djangoapp", ignore=shutil.ignore_patterns("__pycache__")
    )
    env = {**os.environ, "PYTHONPATH": str(overlay)}
    found = subprocess.run(
        [str(PYTHON), "-c", "import pulumi_djangoapp; print(pulumi_djangoapp.__file__)"],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout.strip()
    shutil.rmtree(overlay)
    return found.startswith(str(overlay))


def constant_pass(modules=CONSTANT_MODULES) -> dict[str, Tally]:
    overlay_root = WORK / "constants"
    overlay_root.mkdir(parents=True, exist_ok=True)
    if not _imports_the_overlay(overlay_root):
        raise SystemExit(
            "constant pass: the tests import the installed package, not the mutated copy"
        )
    mutants = [m for module in modules for m in constant_mutants(module)]
    canary = [m for m in mutants if m.name == CANARY]
    if not canary:
        raise SystemExit(f"constant pass: no canary mutant {CANARY}")
    _preload()
    # Each module's tests pass unmutated (a clean copy), and how long they take bounds a mutant.
    timeouts: dict[str, float] = {}
    for module in modules:
        clean = ConstantMutant(
            module, f"clean {module}", (PACKAGE / f"{module.replace('.', '/')}.py").read_text()
        )
        started = time.monotonic()
        status = _run_constant(clean, overlay_root, 600)
        if status != "survived":
            raise SystemExit(
                f"constant pass: the tests of {module} do not pass without a mutant ({status})"
            )
        timeouts[module] = max(30.0, 5 * (time.monotonic() - started))
    status = _run_constant(canary[0], overlay_root, timeouts["quantities"])
    if status != "killed":
        raise SystemExit(
            f"constant pass: the canary {canary[0].name} {status}: the tests are not running the mutants"
        )
    tallies: dict[str, Tally] = {}
    results = _run_forked(
        [(m, _overlay(m, overlay_root), timeouts[m.module]) for m in mutants if not m.equivalent]
    )
    for mutant in mutants:
        status = f"equivalent: {mutant.equivalent}" if mutant.equivalent else results[mutant.name]
        tallies.setdefault(f"constants {mutant.module}", Tally()).add(mutant.name, status)
    for tally in tallies.values():
        tally.survivors.sort()
    return tallies


# --- report ------------------------------------------------------------------------------


def report(tallies: dict[str, Tally], seconds: float) -> str:
    lines = [
        f"{'pass and module':34} {'mutants':>7} {'killed':>7} {'survived':>8} {'timeout':>7} {'other':>6} {'kill rate':>9}"
    ]
    for name in sorted(tallies):
        t = tallies[name]
        lines.append(
            f"{name:34} {t.mutants:7} {t.killed:7} {t.survived:8} {t.timeout:7} {t.other:6} {t.rate:9.1%}"
        )
    lines.append(
        f"({seconds:.0f} s; kill rate = killed / (killed + survived); timeouts and 'other' apart)"
    )
    for name in sorted(tallies):
        for survivor in tallies[name].survivors:
            reason = EQUIVALENT.get(survivor)
            lines.append(
                f"  survived  {survivor}" + (f"  (equivalent: {reason})" if reason else "")
            )
    for name in sorted(tallies):
        for mutant, reason in sorted(tallies[name].equivalent.items()):
            lines.append(f"  not run   {mutant}  (equivalent: {reason})")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("mutmut", "constants"), help="run one pass")
    parser.add_argument("--modules", nargs="*", help="these modules only")
    args = parser.parse_args(argv)
    started = time.monotonic()
    tallies: dict[str, Tally] = {}
    WORK.mkdir(parents=True, exist_ok=True)
    if args.only != "constants":
        tallies |= mutmut_pass(
            tuple(m for m in args.modules if m in (*EXHAUSTIVE, *SAMPLED)) if args.modules else None
        )
    if args.only != "mutmut":
        tallies |= constant_pass(
            tuple(m for m in args.modules if m in CONSTANT_MODULES)
            if args.modules
            else CONSTANT_MODULES
        )
    text = report(tallies, time.monotonic() - started)
    print(text)
    (WORK / "report.json").write_text(
        json.dumps(
            {k: {**vars(v), "rate": v.rate} for k, v in tallies.items()}, indent=2, sort_keys=True
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

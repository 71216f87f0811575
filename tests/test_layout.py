"""The package's layers, visible in its folders: settings (inputs) -> builders (pure) ->
components (registration) -> tools. A module imports only from its own layer or those before it,
and no two modules import each other, directly or round a cycle."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "components" / "pulumi_djangoapp"
LAYERS = ("settings", "builders", "components", "tools")


def module_name(path):
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path):
    """Package modules ``path`` imports, anywhere in the file (function-level imports included)."""
    here = module_name(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[: len(package) - node.level + 1]
            target = [*base, *(node.module.split(".") if node.module else [])]
            for alias in node.names:
                candidate = ".".join([*target, alias.name])
                found.add(
                    candidate
                    if (PACKAGE.parent / (candidate.replace(".", "/") + ".py")).exists()
                    else ".".join(target)
                )
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
            "pulumi_djangoapp"
        ):
            found.add(node.module)
    return {m for m in found if m != ".".join(here)}


def graph():
    return {module_name(p): imports_of(p) for p in PACKAGE.rglob("*.py")}


def layer(module):
    parts = module.split(".")
    return parts[1] if len(parts) > 2 and parts[1] in LAYERS else None


def cycles(edges):
    seen, stack, found = set(), [], []

    def visit(node):
        if node in stack:
            found.append(stack[stack.index(node) :] + [node])
            return
        if node in seen:
            return
        seen.add(node)
        stack.append(node)
        for target in sorted(edges.get(node, ())):
            visit(target)
        stack.pop()

    for node in sorted(edges):
        visit(node)
    return found


def test_every_module_lives_in_a_layer_or_is_a_public_path():
    top = {p.stem for p in PACKAGE.glob("*.py")}
    assert top == {
        "__init__",
        "render",
        "restore",
        "run",
        "runner",
        "stack_config",
        "storage_class",
        "config_bucket",
    }
    assert {p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__"} == set(
        LAYERS
    )


@pytest.mark.parametrize("name", LAYERS)
def test_a_layer_imports_only_its_own_and_earlier_layers(name):
    allowed = set(LAYERS[: LAYERS.index(name) + 1])
    wrong = {
        module: sorted(t for t in targets if layer(t) and layer(t) not in allowed)
        for module, targets in graph().items()
        if layer(module) == name
    }
    assert {m: t for m, t in wrong.items() if t} == {}


def test_the_package_has_no_import_cycle():
    edges = {m: {t for t in targets if layer(t)} for m, targets in graph().items() if layer(m)}
    assert cycles(edges) == []


def test_a_cycle_cannot_pass_the_cycle_check():
    # Negative control.
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]


def test_a_concept_keeps_its_file_name_in_every_layer():
    # The settings and the builders of a concept, where both exist, share the file name.
    settings = {p.stem for p in (PACKAGE / "settings").glob("*.py")}
    builders = {p.stem for p in (PACKAGE / "builders").glob("*.py")}
    shared = settings & builders
    assert {
        "autoscaling",
        "backups",
        "broker",
        "processes",
        "rds",
        "schedules",
        "way_in",
        "storage_class",
        "config_bucket",
        "database",
        "migrations",
        "app",
    } <= shared

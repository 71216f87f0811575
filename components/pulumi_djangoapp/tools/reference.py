"""The README's reference tables, generated from the docstrings (the schema's descriptions).

``python -m pulumi_djangoapp.tools.reference --write README.md`` rewrites every block between
``<!-- reference: NAME -->`` and ``<!-- /reference -->``; ``--check`` exits 1 when one differs
(a test runs the check). The arguments are each ``TypedDict`` of the public API, field by field;
the outputs are the ``DjangoApp`` declarations (``OUTPUTS``).
"""

from __future__ import annotations

import argparse
import ast
import inspect
import re
import sys
from pathlib import Path
from typing import Sequence

from ..components.config_bucket import ConfigBucket
from ..components.django_app import OUTPUTS, DjangoApp
from ..settings.args import DjangoAppArgs
from ..settings.autoscaling import AutoscalingArgs
from ..settings.backups import BackupArgs, RestoreDrillArgs
from ..settings.broker import BrokerArgs
from ..settings.cache import CacheArgs
from ..settings.config_bucket import ConfigBucketArgs
from ..settings.database import PostgresArgs
from ..settings.deploy_check import DeployCheckArgs
from ..settings.first_admin import FirstAdminArgs
from ..settings.mail import MailArgs
from ..settings.media import MediaArgs
from ..settings.monitoring import MonitoringArgs, ScraperArgs
from ..settings.processes import ProcessArgs
from ..settings.queue_autoscaling import KedaArgs, QueueAutoscalingArgs
from ..settings.rds import RdsArgs
from ..settings.resources import ResourcesArgs
from ..settings.schedules import ScheduleArgs
from ..settings.sidecars import SidecarArgs
from ..settings.way_in import HstsArgs, HttpRouteArgs, IngressArgs

# Each table of the README, by the name its markers carry.
ARGUMENT_TYPES = {
    t.__name__: t
    for t in (
        DjangoAppArgs, ResourcesArgs, SidecarArgs, PostgresArgs, RdsArgs, IngressArgs, HttpRouteArgs,
        ScheduleArgs, ProcessArgs, AutoscalingArgs, BrokerArgs, QueueAutoscalingArgs, KedaArgs, MonitoringArgs, ScraperArgs, BackupArgs, RestoreDrillArgs, ConfigBucketArgs,
        CacheArgs, MailArgs, DeployCheckArgs, HstsArgs, MediaArgs, FirstAdminArgs,
    )
}  # fmt: skip
_BLOCK = re.compile(r"(<!-- reference: (\S+) -->\n)(.*?)(<!-- /reference -->)", re.S)


def _markdown(text: str) -> str:
    """A docstring as one table cell: reST literals as Markdown code, pipes escaped."""
    return " ".join(text.split()).replace("``", "`").replace("|", "\\|")


def _type(annotation: ast.expr) -> str:
    text = ast.unparse(annotation)
    for wrapper in ("NotRequired", "pulumi.Input", "pulumi.Output", "Optional"):
        text = re.sub(rf"^{re.escape(wrapper)}\[(.*)\]$", r"\1", text)
        text = re.sub(rf"^{re.escape(wrapper)}\[(.*)\]$", r"\1", text)
    return text.replace("List[", "list[").replace("Dict[", "dict[")


def documented_fields(cls: type) -> list[tuple[str, str, str]]:
    """``(name, type, docstring)`` of each annotated field, in declaration order."""
    body = ast.parse(inspect.getsource(cls)).body[0].body
    fields = []
    for node, following in zip(body, [*body[1:], None], strict=True):
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            doc = (
                following.value.value
                if isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant)
                else ""
            )
            fields.append((node.target.id, _type(node.annotation), doc))
    return fields


def arguments_table(cls: type) -> str:
    rows = [
        f"| `{name}` | `{kind}` | {_markdown(doc)} |" for name, kind, doc in documented_fields(cls)
    ]
    return "\n".join(["| argument | type | meaning and default |", "|---|---|---|", *rows]) + "\n"


def outputs_table(cls: type = DjangoApp, names: Sequence[str] = OUTPUTS) -> str:
    documented = {name: (kind, doc) for name, kind, doc in documented_fields(cls)}
    rows = [
        f"| `{name}` | `{documented[name][0]}` | {_markdown(documented[name][1])} |"
        for name in names
    ]
    return (
        "\n".join(["| output | type | when it is set, and what it is |", "|---|---|---|", *rows])
        + "\n"
    )


def table(name: str) -> str:
    if name == "DjangoApp.outputs":
        return outputs_table()
    if name == "ConfigBucket.outputs":
        return outputs_table(ConfigBucket, [n for n, _, _ in documented_fields(ConfigBucket)])
    return arguments_table(ARGUMENT_TYPES[name])


def regenerate(text: str) -> str:
    return _BLOCK.sub(lambda m: m.group(1) + table(m.group(2)) + m.group(4), text)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pulumi_djangoapp.tools.reference", description=__doc__.split("\n")[0]
    )
    parser.add_argument("file", type=Path)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="rewrite the generated blocks in place")
    mode.add_argument(
        "--check", action="store_true", help="exit 1 when a generated block is out of date"
    )
    options = parser.parse_args(argv)
    text = options.file.read_text()
    generated = regenerate(text)
    if options.write:
        options.file.write_text(generated)
        return 0
    if generated != text:
        print(
            f"{options.file}: the reference tables differ from the docstrings; run with --write",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

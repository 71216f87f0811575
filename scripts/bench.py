"""Benchmark: how long evaluating DjangoApp takes, against the floor of registering the same
resources by hand, and how it scales with the number of apps. Prints a table; asserts nothing.

    python scripts/bench.py            # everything (make bench)
    python scripts/bench.py child ...  # one measured process (used by the parent)

Every figure is a whole process (interpreter start, imports, program, mocks), the way a
`pulumi preview` pays for it; each is the median of several runs.
"""

from __future__ import annotations

import gc
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build" / "bench"
RUNS = int(os.environ.get("BENCH_RUNS", "5"))
# The stack measured against its hand-written twin: staging has the way in, the autoscaler,
# a log shipper, a schedule, a worker and beat with their broker, a cache, mail, and the AWS side
# with workload identity.
STACK = "staging"
TARGETS = {"ratio": 1.10, "100_apps_rss_mb": 600.0, "unit_suite_seconds": 60.0}


def app_args(index: int) -> dict:
    """A production-like app: AWS backend with workload identity, config, a sidecar, an ALB way in,
    an autoscaler, a Celery worker, an in-cluster broker, a cache, mail, media uploads, the first
    admin and nightly backups."""
    return {
        "image": "ghcr.io/example/django-shop:0.1.0",
        "namespace": f"app-{index}",
        "replicas": 2,
        "config_files": {"app.toml": f"[django]\nname = 'app-{index}'\n"},
        "oidc_provider_arn": "arn:aws:iam::111111111111:oidc-provider/oidc.eks.eu-west-3.amazonaws.com/id/BENCH",
        "oidc_provider_url": "https://oidc.eks.eu-west-3.amazonaws.com/id/BENCH",
        "aws_region": "eu-west-3",
        "sidecars": [
            {
                "name": "log-shipper",
                "image": "cr.fluentbit.io/fluent/fluent-bit:3.2.4",
                "volume_mounts": {"logs": "/var/log/app"},
            }
        ],
        # The second wave switched on: a way in and an autoscaler.
        "ingress": {"hosts": [f"app-{index}.example.com"], "ingress_cidrs": ["10.0.0.0/16"]},
        "autoscaling": {"min_replicas": 2, "max_replicas": 6},
        "processes": [
            {
                "name": "worker",
                "command": ["celery", "-A", "project", "worker"],
                "queue_autoscaling": {"max_replicas": 6},
            }
        ],
        "monitoring": {
            "scraper": {
                "namespace": "monitoring",
                "pod_labels": {"app.kubernetes.io/name": "prometheus"},
            }
        },
        "broker": {},
        "backups": {"restore_drill": {}},
        "cache": {},
        "media": {},
        "first_admin": {},
        "mail": {
            "url": "smtp://relay.platform.svc.cluster.local:587",
            "default_from_email": f"app-{index}@example.com",
        },
    }


# --- child side: one measured program under mocks ----------------------------------------


def _mocks():
    import pulumi

    class Mocks(pulumi.runtime.Mocks):
        def __init__(self, record: list | None = None):
            self.record = record

        def new_resource(self, args):
            if self.record is not None:
                self.record.append(
                    {"type": args.typ, "name": args.name, "inputs": _unwrap(args.inputs)}
                )
            state = dict(args.inputs)
            state.setdefault("result", "generated")
            state.setdefault("arn", f"arn:aws:::{args.name}")
            state.setdefault("bucket", f"{args.name}-bucket")
            if args.typ == "random:index/randomId:RandomId":
                # What the provider computes: the SCRAM verifiers of in-cluster roles read it.
                state.setdefault("b64Std", "AAAAAAAAAAAAAAAAAAAAAA==")
            return f"{args.name}-id", state

        def call(self, args):
            return {"region": "eu-west-3"}, []

    return Mocks


def _unwrap(value):
    from pulumi.runtime import rpc

    if isinstance(value, dict):
        if rpc.is_rpc_secret(value):
            return _unwrap(rpc.unwrap_rpc_secret(value))
        return {k: _unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unwrap(v) for v in value]
    return value


def child(kind: str, argument: str) -> None:
    """kind: ``stack`` (stacks/ with Pulumi.<argument>.yaml), ``record`` (the same, recording
    every registration), ``apps`` (``argument`` DjangoApps), ``record-apps`` (the same,
    recording), ``raw`` (a project folder, through the runner), ``raw-apps`` (a generated
    program file run in-process exactly like ``apps``)."""
    started = time.perf_counter()
    counting = os.environ.get("BENCH_COUNT_ALLOCATIONS") == "1"
    if counting:
        # With the collector off, generation 0's count is the net number of container objects
        # allocated: a figure machine noise cannot move.
        gc.disable()
        allocated_before = gc.get_count()[0]
    import pulumi

    record: list | None = [] if kind.startswith("record") else None
    mocks = _mocks()(record)
    if kind in ("stack", "record", "raw"):
        # A whole project's program, run as the engine runs it (pulumi_djangoapp.runner): the
        # project's stacks/, or the hand-written floor in a project folder of its own.
        from pulumi_djangoapp import runner

        project = runner.load_project(ROOT if kind != "raw" else Path(argument))
        config, secret_keys = runner.stack_config(project, argument) if kind != "raw" else ({}, [])
        runner.run(project, "bench", config, mocks, secret_keys=secret_keys)
    else:
        pulumi.runtime.set_mocks(mocks, project="djangoapp", stack="bench", preview=False)

        @pulumi.runtime.test
        def program():
            if kind in ("apps", "record-apps"):
                from pulumi_djangoapp import DjangoApp

                for i in range(int(argument)):
                    DjangoApp(f"app{i}", app_args(i))
            elif kind == "raw-apps":
                import runpy

                runpy.run_path(argument, run_name="__main__")

        program()
    elapsed = time.perf_counter() - started
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if record is not None:
        target = "recorded.json" if kind == "record" else f"recorded-apps-{argument}.json"
        (BUILD / target).write_text(json.dumps(record, default=str))
    result = {"seconds": elapsed, "rss_mb": rss_mb}
    if counting:
        result["allocations"] = gc.get_count()[0] - allocated_before
    print(json.dumps(result))


# --- the hand-written floor ---------------------------------------------------------------

_CLASSES = {}


def _python_class(token: str) -> str:
    """'kubernetes:apps/v1:Deployment' -> 'k8s.apps.v1.Deployment' (plain SDK classes)."""
    package, module, name = token.split(":")
    if package == "pulumi" and module == "providers":
        return {"aws": "aws.Provider", "kubernetes": "k8s.Provider"}[name]
    if package == "kubernetes":
        group, version = module.rsplit("/", 1)
        group = {
            "core": "core",
            "apps": "apps",
            "batch": "batch",
            "policy": "policy",
            "networking.k8s.io": "networking",
            "storage.k8s.io": "storage",
            "autoscaling": "autoscaling",
        }[group]
        return f"k8s.{group}.{version}.{name}"
    if package == "aws":
        return f"aws.{module.split('/')[0]}.{name}"
    if package == "random":
        return f"random.{name}"
    raise KeyError(token)


def _snake(key: str) -> str:
    import re

    return re.sub(r"([A-Z])", r"_\1", key).lower()


def write_raw_program(recorded: list[dict], folder: str = "raw", tuned_gc: bool = False) -> Path:
    """One literal constructor call per custom resource the component registered: the same
    types, names and inputs, no logic, no components."""
    lines = [
        '"""Generated by scripts/bench.py: the resources of one DjangoApp, registered by hand."""',
        "import gc",
        "",
        "import pulumi_aws as aws",
        "import pulumi_kubernetes as k8s",
        "import pulumi_random as random",
        "",
        *(
            # The stack program tunes the collector after its imports; its twin does the same.
            ["gc.collect()", "gc.freeze()", "gc.set_threshold(50_000, 20, 20)", ""]
            if tuned_gc
            else []
        ),
    ]
    for resource_ in recorded:
        if resource_["type"].startswith(("djangoapp:", "pulumi:pulumi:")):
            continue
        inputs = {k: v for k, v in resource_["inputs"].items() if k not in ("apiVersion", "kind")}
        kwargs = ", ".join(f"{_snake(k)}={v!r}" for k, v in inputs.items())
        lines.append(f"{_python_class(resource_['type'])}({resource_['name']!r}, {kwargs})")
    project = BUILD / folder
    project.mkdir(parents=True, exist_ok=True)
    (project / "Pulumi.yaml").write_text("name: djangoapp\nruntime: python\n")
    (project / "__main__.py").write_text("\n".join(lines) + "\n")
    return project


# --- parent side --------------------------------------------------------------------------


def _once(argv: tuple[str, ...]) -> dict:
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, __file__, "child", *argv],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    wall = time.perf_counter() - started
    return {**json.loads(out.stdout.strip().splitlines()[-1]), "wall": wall}


def _summary(samples: list[dict]) -> dict:
    return {
        "seconds": statistics.median(s["wall"] for s in samples),
        "rss_mb": max(s["rss_mb"] for s in samples),
    }


def measure(*argv: str, runs: int = RUNS) -> dict:
    """Wall time of the whole child process, as seen from outside; peak RSS as it reports."""
    return _summary([_once(argv) for _ in range(runs)])


def measure_ab(a: tuple[str, ...], b: tuple[str, ...], runs: int = RUNS) -> tuple[dict, dict]:
    """Both programs alternately, A then B, ``runs`` times: a noisy machine slows both alike."""
    samples: tuple[list, list] = ([], [])
    for _ in range(runs):
        samples[0].append(_once(a))
        samples[1].append(_once(b))
    return _summary(samples[0]), _summary(samples[1])


def allocations(argv: tuple[str, ...]) -> int:
    out = subprocess.run(
        [sys.executable, __file__, "child", *argv], capture_output=True, text=True, cwd=ROOT, check=True,
        env={**os.environ, "BENCH_COUNT_ALLOCATIONS": "1"},
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])["allocations"]


def unit_suite_seconds() -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "2", "--ignore=tests/contract"],
        cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip
    return time.perf_counter() - started


def main() -> None:
    BUILD.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, __file__, "child", "record", STACK],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    raw = write_raw_program(json.loads((BUILD / "recorded.json").read_text()), tuned_gc=True)

    component, floor = measure_ab(("stack", STACK), ("raw", str(raw)), runs=max(RUNS, 7))
    scaling = {n: measure("apps", str(n), runs=3 if n >= 50 else RUNS) for n in (1, 10, 50, 100)}
    # N apps against the same N apps written by hand (generated from a recording), alternated.
    by_hand = {}
    programs = {}
    for n in (1, 10, 100):
        subprocess.run(
            [sys.executable, __file__, "child", "record-apps", str(n)],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        recorded = json.loads((BUILD / f"recorded-apps-{n}.json").read_text())
        program = programs[n] = write_raw_program(recorded, f"raw-apps-{n}") / "__main__.py"
        if n == 1:
            continue
        custom = sum(
            1 for r in recorded if not r["type"].startswith(("djangoapp:", "pulumi:pulumi:"))
        )
        apps, hand = measure_ab(
            ("apps", str(n)), ("raw-apps", str(program)), runs=3 if n >= 100 else RUNS
        )
        by_hand[n] = {
            "apps": apps,
            "hand": hand,
            "ratio": apps["seconds"] / hand["seconds"],
            "resources": custom,
        }
    # Objects allocated per app (from 1 to 10 apps), component and by hand: deterministic.
    per_app_allocations = {
        side: (allocations((kind, arg(10))) - allocations((kind, arg(1)))) / 9
        for side, kind, arg in (
            ("component", "apps", str),
            ("by hand", "raw-apps", lambda n: str(programs[n])),
        )
    }
    suite = unit_suite_seconds()

    ratio = component["seconds"] / floor["seconds"]
    per_app = [(scaling[n]["seconds"] - scaling[1]["seconds"]) / (n - 1) for n in (10, 50, 100)]
    rows = [
        (f"{STACK} stack program (stacks/, Pulumi.{STACK}.yaml)", f"{component['seconds']:.2f} s", f"{component['rss_mb']:.0f} MB", ""),
        ("same resources by hand (floor)", f"{floor['seconds']:.2f} s", f"{floor['rss_mb']:.0f} MB", ""),
        ("ratio component / floor", f"{ratio:.2f}", "", f"<= {TARGETS['ratio']}"),
        *(
            (f"{n} DjangoApps", f"{scaling[n]['seconds']:.2f} s", f"{scaling[n]['rss_mb']:.0f} MB",
             f"<= {TARGETS['100_apps_rss_mb']:.0f} MB" if n == 100 else "")
            for n in (1, 10, 50, 100)
        ),
        ("marginal cost per app (10/50/100)", " / ".join(f"{p * 1000:.0f} ms" for p in per_app), "", "flat = linear"),
        *(
            row
            for n, b in by_hand.items()
            for row in (
                (f"{n} DjangoApps vs the same by hand (A/B)", f"{b['apps']['seconds']:.2f} s / {b['hand']['seconds']:.2f} s", f"{b['apps']['rss_mb']:.0f} / {b['hand']['rss_mb']:.0f} MB", ""),
                (f"ratio at {n} apps", f"{b['ratio']:.2f}", "", f"<= {TARGETS['ratio']}"),
                (f"time per registered resource at {n} apps", f"{b['apps']['seconds'] / b['resources'] * 1000:.1f} ms / {b['hand']['seconds'] / b['resources'] * 1000:.1f} ms", "", ""),
            )
        ),
        ("container objects allocated per app (component / by hand)", f"{per_app_allocations['component']:.0f} / {per_app_allocations['by hand']:.0f}", "", "deterministic"),
        ("unit suite (pytest -n 2, no contract tests)", f"{suite:.1f} s", "", f"<= {TARGETS['unit_suite_seconds']:.0f} s"),
    ]  # fmt: skip
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.platform()}"
    )
    print(
        f"runs per figure: median of {RUNS} (7 alternating A/B for the ratio, 3 for 50 and 100 apps); RSS is the peak of the process"
    )
    width = max(len(r[0]) for r in rows)
    print(f"| {'measure'.ljust(width)} | time | peak RSS | target |")
    print(f"|{'-' * (width + 2)}|------|----------|--------|")
    for name, seconds, rss, target in rows:
        print(f"| {name.ljust(width)} | {seconds} | {rss} | {target} |")
    (BUILD / "results.json").write_text(
        json.dumps(
            {
                "component": component,
                "floor": floor,
                "ratio": ratio,
                "scaling": scaling,
                "by_hand": by_hand,
                "allocations_per_app": per_app_allocations,
                "unit_suite_seconds": suite,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "child":
        child(sys.argv[2], sys.argv[3])
    else:
        main()

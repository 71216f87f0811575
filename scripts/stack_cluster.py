"""Print the EKS cluster, kube context and region a stack file names, for
`aws eks update-kubeconfig --name CLUSTER --alias CONTEXT --region REGION` (preview workflow).

    python scripts/stack_cluster.py dev   ->   shop-dev shop-dev eu-west-3
"""

import sys
from pathlib import Path

from pulumi_djangoapp import runner


def cluster_of(root: Path, stack: str) -> tuple[str, str, str]:
    project = runner.load_project(root)
    config, _ = runner.stack_config(project, stack)
    values = [
        config.get(f"{project.name}:{key}", "")
        for key in ("eksClusterName", "kubeContext", "awsRegion")
    ]
    missing = [
        key
        for key, value in zip(("eksClusterName", "kubeContext", "awsRegion"), values, strict=True)
        if not value
    ]
    if missing:
        raise runner.ProgramError(f"stack {stack!r} does not name its {', '.join(missing)}")
    return values[0], values[1], values[2]


if __name__ == "__main__":
    try:
        print(*cluster_of(Path(__file__).resolve().parent.parent, sys.argv[1]))
    except runner.ProgramError as error:
        print(f"stack_cluster: {error}", file=sys.stderr)
        sys.exit(2)

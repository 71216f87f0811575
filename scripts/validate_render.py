"""Validate a rendered kubernetes.yaml: built-in kinds against the strict Kubernetes schemas of
each version (kubernetes-validate), Gateway API HTTPRoutes against tests/schemas/httproute-v1.json,
KEDA's and the Prometheus Operator's kinds against their own CRDs from their Go modules
(tests/upstream.py; kubernetes-validate has no CRD schemas).

    python scripts/validate_render.py out/local/kubernetes.yaml 1.32.0 1.34.0 1.37.0
"""

import json
import sys
from pathlib import Path

import jsonschema
import kubernetes_validate
import yaml

TESTS = Path(__file__).resolve().parent.parent / "tests"

HTTPROUTE_SCHEMA = TESTS / "schemas" / "httproute-v1.json"

sys.path.insert(0, str(TESTS))
import crd_schema  # noqa: E402
import upstream  # noqa: E402

CRD_GROUPS = {
    "keda.sh/": upstream.keda_crds,
    "monitoring.coreos.com/": upstream.prometheus_operator_crds,
}


class CrdError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def validate(document: dict, versions: list[str]) -> None:
    if document.get("apiVersion", "").startswith("gateway.networking.k8s.io/"):
        jsonschema.validate(document, json.loads(HTTPROUTE_SCHEMA.read_text()))
        return
    for group, crds in CRD_GROUPS.items():
        if document.get("apiVersion", "").startswith(group):
            errors = crd_schema.errors(document, crds()[document["kind"]])
            if errors:
                raise CrdError("; ".join(errors))
            return
    for version in versions:
        kubernetes_validate.validate(document, version, strict=True)


def main(path: str, versions: list[str]) -> int:
    documents = [d for d in yaml.safe_load_all(Path(path).read_text()) if d]
    failed = 0
    for document in documents:
        try:
            validate(document, versions)
        except (jsonschema.ValidationError, kubernetes_validate.ValidationError, CrdError) as error:
            failed += 1
            print(
                f"{path}: {document['kind']} {document['metadata'].get('name')}: {error.message}",
                file=sys.stderr,
            )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2:]))

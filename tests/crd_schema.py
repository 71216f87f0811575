"""Validation of a custom resource against its CRD's own ``openAPIV3Schema``, strictly: a field
the schema does not declare is an error (the API server would silently prune it), as
``kubectl --validate=strict`` reports it."""

from __future__ import annotations

import copy
from typing import Any

import jsonschema


def _strict(schema: Any) -> Any:
    if isinstance(schema, dict):
        schema = {k: _strict(v) for k, v in schema.items()}
        if (
            "properties" in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")
            and "additionalProperties" not in schema
        ):
            schema["additionalProperties"] = False
        return schema
    if isinstance(schema, list):
        return [_strict(v) for v in schema]
    return schema


def errors(obj: dict, crd: dict) -> list[str]:
    """Every schema error of ``obj`` (an empty list when it is valid)."""
    group, version = obj["apiVersion"].split("/")
    spec = crd["spec"]
    assert spec["group"] == group and spec["names"]["kind"] == obj["kind"], "not this CRD's kind"
    (served,) = [v for v in spec["versions"] if v["name"] == version and v["served"]]
    schema = _strict(copy.deepcopy(served["schema"]["openAPIV3Schema"]))
    # The object's metadata is the API server's to check (ObjectMeta), not the CRD's.
    schema["properties"]["metadata"] = {"type": "object"}
    validator = jsonschema.Draft7Validator(schema)
    return sorted(
        f"{'.'.join(str(p) for p in e.absolute_path) or '<root>'}: {e.message}"
        for e in validator.iter_errors(obj)
    )

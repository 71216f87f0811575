"""What a change does, from two renders: resources added, removed and changed (field by field),
and the replacements to expect — an **estimate**, from the table below and each resource's own
``replaceOnChanges``, never a substitute for ``pulumi preview`` against the real cluster.

Replacement table (why each entry forces a new resource):
- Kubernetes: a new ``metadata.name`` or ``metadata.namespace`` is a new object. Immutable after
  creation, so pulumi-kubernetes replaces the object: Deployment/StatefulSet/Job
  ``spec.selector``; StatefulSet every spec field but replicas, ordinals, template,
  updateStrategy, persistentVolumeClaimRetentionPolicy and minReadySeconds (k8s.io/kubernetes
  ``pkg/apis/apps/validation`` ``ValidateStatefulSetUpdate``); Job ``spec.template``
  (``pkg/apis/batch/validation``); Service ``spec.clusterIP``; Secret and ConfigMap ``type``.
  A Patch resource (the claims' size patches) is replaced only for a new name or namespace: the
  provider updates every other field in place (pulumi-kubernetes ``provider.go`` ``Diff``).
- AWS and random (the providers' ForceNew arguments): an S3 bucket's ``bucket``/``bucketPrefix``;
  a Secrets Manager secret's ``name``/``namePrefix``; an IAM role's ``name``/``namePrefix``/
  ``path``; a Pod Identity association's cluster, namespace and service account; an RDS
  instance's identifier, engine, master username, database name, KMS key, encryption, zone,
  character set and time zone; a DB subnet group's or parameter group's name (and the group's
  family: a major upgrade makes a new group); a security group's name, VPC and description; every
  input of a ``random`` resource.
Fields a resource ignores (``ignoreChanges``) change nothing. Resources that hold data (the
database and broker StatefulSets and their claims, buckets, secrets, generated passwords) are
flagged when they would be replaced or removed, and so is the database-provider marker: its
replacement means the data would have to move to another server.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional

import yaml

_K8S_NEW_OBJECT = ("metadata.name", "metadata.namespace")

_STATEFULSET_MUTABLE = (
    "spec.replicas",
    "spec.ordinals",
    "spec.template",
    "spec.updateStrategy",
    "spec.persistentVolumeClaimRetentionPolicy",
    "spec.minReadySeconds",
)

IMMUTABLE: dict[str, tuple[str, ...]] = {
    "Deployment": ("spec.selector",),
    "Job": ("spec.selector", "spec.template"),
    "Service": ("spec.clusterIP",),
    "Secret": ("type",),
    "ConfigMap": ("type",),
    "aws:s3/bucket:Bucket": ("bucket", "bucketPrefix"),
    "aws:secretsmanager/secret:Secret": ("name", "namePrefix"),
    "aws:iam/role:Role": ("name", "namePrefix", "path"),
    "aws:eks/podIdentityAssociation:PodIdentityAssociation": (
        "clusterName",
        "namespace",
        "serviceAccount",
    ),
    "aws:rds/instance:Instance": (
        "identifier",
        "identifierPrefix",
        "engine",
        "username",
        "dbName",
        "kmsKeyId",
        "storageEncrypted",
        "availabilityZone",
        "characterSetName",
        "timezone",
    ),
    "aws:rds/subnetGroup:SubnetGroup": ("name", "namePrefix"),
    "aws:rds/parameterGroup:ParameterGroup": ("name", "namePrefix", "family", "description"),
    "aws:ec2/securityGroup:SecurityGroup": ("name", "namePrefix", "vpcId", "description"),
}

HOLDS_DATA = (
    "StatefulSet", "PersistentVolumeClaimPatch", "aws:s3/bucket:Bucket", "aws:secretsmanager/secret:Secret",
    "random:index/randomPassword:RandomPassword", "aws:rds/instance:Instance",
    # Which kind of server holds the data: replacing it means moving the data (a provider change).
    "random:index/randomId:RandomId",
)  # fmt: skip


@dataclass
class Change:
    name: str
    type: str
    action: str  # added | removed | changed
    fields: list[tuple[str, Any, Any]] = field(default_factory=list)  # (path, before, after)
    replaced_by: list[str] = field(default_factory=list)  # the fields that force a replacement
    ignored: list[str] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return self.type.rsplit(":", 1)[-1] if self.type.startswith("kubernetes:") else self.type

    @property
    def holds_data(self) -> bool:
        return self.kind in HOLDS_DATA or self.type in HOLDS_DATA

    @property
    def loud(self) -> bool:
        return self.holds_data and (self.action == "removed" or bool(self.replaced_by))


def _load(directory: Path) -> dict[str, tuple[str, Any]]:
    """Pulumi name -> (type, inputs as rendered)."""
    resources = yaml.safe_load((directory / "resources.yaml").read_text()) or []
    objects = {}
    for doc in yaml.safe_load_all((directory / "kubernetes.yaml").read_text()):
        if doc:
            meta = doc.get("metadata", {})
            objects[f"{doc.get('kind')} {meta.get('namespace', '')}/{meta.get('name', '')}"] = doc
    # By type and name: a Secret and its generated RandomPassword may share a name.
    cloud = {
        (r["type"], r["name"]): r["inputs"]
        for r in json.loads((directory / "aws.json").read_text())
    }
    loaded = {}
    for r in resources:
        if not r.get("custom"):
            continue
        inputs = (
            objects.get(r.get("object", "")) if "object" in r else cloud.get((r["type"], r["name"]))
        )
        options = {**r.get("options", {}), "secrets": r.get("secrets", {})}
        # By URN where the render recorded it (parent and type chain included); older renders
        # only had the name.
        loaded[r.get("urn", r["name"])] = (r["type"], inputs if inputs is not None else {}, options)
    return loaded


def load_registrations(path: Path) -> dict[str, tuple[str, Any, dict]]:
    """The registrations ``scripts/upgrade_check.py record`` wrote (any release's code), keyed by
    URN, in the shape of :func:`_load`: what ``--base`` compares for a release without
    ``resources.yaml``."""
    loaded = {}
    for r in json.loads(path.read_text()):
        if r.get("custom"):
            options = {
                k: r[k] for k in ("ignoreChanges", "replaceOnChanges", "provider") if r.get(k)
            }
            loaded[r["urn"]] = (
                r["type"],
                r["inputs"],
                {**options, "secrets": r.get("secrets", {})},
            )
    return loaded


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Dotted paths to leaves; list items with a ``name`` are addressed by it (``containers[django]``)."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out or {prefix: {}}
    if (
        isinstance(value, list)
        and value
        and all(isinstance(i, dict) and "name" in i for i in value)
    ):
        out = {}
        for i in value:
            out.update(_flatten({k: v for k, v in i.items()}, f"{prefix}[{i['name']}]"))
        return out
    return {prefix: value}


def _under(path: str, roots: Iterable[str]) -> Optional[str]:
    for root in roots:
        if path == root or path.startswith(root + ".") or path.startswith(root + "["):
            return root
    return None


def _immutable(type_: str, kind: str) -> tuple[str, ...]:
    if type_.startswith("random:"):
        return ("",)
    if type_.startswith("kubernetes:") and kind.endswith("Patch"):
        # pulumi-kubernetes updates a Patch resource in place for every field but its name and
        # namespace (provider/pkg/provider/provider.go, Diff: "Patch resources can be updated in
        # place for all other properties"); what the API server refuses (a bound claim's class)
        # fails the update instead.
        return _K8S_NEW_OBJECT
    if type_.startswith("kubernetes:"):
        if kind == "StatefulSet":
            return (*_K8S_NEW_OBJECT, "spec")
        return (*_K8S_NEW_OBJECT, *IMMUTABLE.get(kind, ()))
    return IMMUTABLE.get(type_, ())


def replacing_fields(type_: str, old_inputs: Any, new_inputs: Any, options: dict) -> list[str]:
    """The changed input paths that make the provider replace the resource (the table above, the
    resource's own ``replaceOnChanges``), leaving out what ``ignoreChanges`` hides."""
    a, b = _flatten(old_inputs), _flatten(new_inputs)
    ignored_roots = [i.replace("[", ".").rstrip("]") for i in options.get("ignoreChanges", [])]
    kind = type_.rsplit(":", 1)[-1] if type_.startswith("kubernetes:") else type_
    replaced = []
    for path in sorted(set(a) | set(b)):
        if a.get(path) == b.get(path) or _under(path, ignored_roots):
            continue
        if (
            kind == "StatefulSet"
            and path.startswith("spec.")
            and _under(path, _STATEFULSET_MUTABLE)
        ):
            continue
        root = _under(path, _immutable(type_, kind)) if not type_.startswith("random:") else path
        if root is not None or _under(path, options.get("replaceOnChanges", [])):
            replaced.append(path)
    return replaced


def _loaded(folder: Path) -> dict[str, tuple[str, Any, dict]]:
    if (folder / "resources.yaml").is_file():
        return _load(folder)
    return load_registrations(folder / "registrations.json")


def _label(key: str) -> str:
    """A URN shown as its type chain's last type and name; a plain name as itself."""
    return key.rsplit("::", 1)[-1] if key.startswith("urn:") else key


def diff(old: Path, new: Path) -> list[Change]:
    before, after = _loaded(old), _loaded(new)
    if any(k.startswith("urn:") for k in before) != any(k.startswith("urn:") for k in after):
        # One side recorded names only (a render older than the URNs): compare by name.
        before = {_label(k): v for k, v in before.items()}
        after = {_label(k): v for k, v in after.items()}
    changes = []
    for name in sorted(set(before) | set(after)):
        if name not in before:
            changes.append(Change(_label(name), after[name][0], "added"))
            continue
        if name not in after:
            changes.append(Change(_label(name), before[name][0], "removed"))
            continue
        type_, old_inputs, _ = before[name]
        _, new_inputs, options = after[name]
        old_options = before[name][2]
        a, b = _flatten(old_inputs), _flatten(new_inputs)
        fields = [(p, a.get(p), b.get(p)) for p in sorted(set(a) | set(b)) if a.get(p) != b.get(p)]
        # A secret's value never shows; its digest says whether it changed.
        old_secrets, new_secrets = old_options.get("secrets", {}), options.get("secrets", {})
        fields += [
            (f"{p} (secret)", "[secret]", "[secret, changed]")
            for p in sorted(set(old_secrets) & set(new_secrets))
            if old_secrets[p] != new_secrets[p]
        ]
        # The same URN under another provider: pulumi-kubernetes replaces it only when the new
        # provider's active cluster differs (DiffConfig); shown so a reviewer can judge.
        if old_options.get("provider") != options.get("provider"):
            fields.append(
                (
                    "(provider)",
                    old_options.get("provider") or "default",
                    options.get("provider") or "default",
                )
            )
        if not fields:
            continue
        change = Change(_label(name), type_, "changed", fields)
        ignored_roots = [i.replace("[", ".").rstrip("]") for i in options.get("ignoreChanges", [])]
        change.ignored = [path for path, _, _ in fields if _under(path, ignored_roots)]
        change.replaced_by = replacing_fields(type_, old_inputs, new_inputs, options)
        changes.append(change)
    return changes


def _value(v: Any) -> str:
    text = json.dumps(v) if not isinstance(v, str) else v
    return text if len(text) <= 60 else text[:57] + "..."


def text(changes: list[Change]) -> str:
    if not changes:
        return "No changes."
    lines = []
    for c in changes:
        marker = {"added": "+", "removed": "-", "changed": "~"}[c.action]
        note = ""
        if c.replaced_by:
            note = "  REPLACE (estimate)"
        if c.loud:
            note += (
                "  !! HOLDS DATA: " + ("removed" if c.action == "removed" else "replaced") + " !!"
            )
        lines.append(f"{marker} {c.name} ({c.kind}){note}")
        for path, old, new in c.fields:
            flag = (
                " (ignored by Pulumi)"
                if path in c.ignored
                else (" (forces replacement)" if path in c.replaced_by else "")
            )
            lines.append(f"    {path}: {_value(old)} -> {_value(new)}{flag}")
    counts = {a: sum(1 for c in changes if c.action == a) for a in ("added", "removed", "changed")}
    replaced = sum(1 for c in changes if c.replaced_by)
    lines.append(
        f"{counts['added']} added, {counts['removed']} removed, {counts['changed']} changed, {replaced} replaced (estimate)"
    )
    return "\n".join(lines)


def markdown(changes: list[Change]) -> str:
    if not changes:
        return "**No changes** to the rendered resources.\n"
    loud = [c for c in changes if c.loud]
    lines = ["### What this change does (offline render; replacements are an estimate)", ""]
    if loud:
        lines += [
            f"> [!CAUTION]\n> **{c.name}** ({c.kind}) holds data and would be {'removed' if c.action == 'removed' else 'replaced'}."
            for c in loud
        ]
        lines.append("")
    lines += ["| | resource | kind | what |", "|---|---|---|---|"]
    for c in changes:
        marker = {"added": "➕", "removed": "➖", "changed": "✏️"}[c.action]
        what = (
            "replaced (estimate) by " + ", ".join(f"`{p}`" for p in c.replaced_by)
            if c.replaced_by
            else (f"{len(c.fields)} field(s)" if c.fields else c.action)
        )
        lines.append(f"| {marker} | `{c.name}` | {c.kind} | {what} |")
    details = [c for c in changes if c.fields]
    if details:
        lines += ["", "<details><summary>Field-level changes</summary>", ""]
        for c in details:
            lines.append(f"**{c.name}**")
            lines += [
                f"- `{p}`: `{_value(o)}` → `{_value(n)}`" + (" (ignored)" if p in c.ignored else "")
                for p, o, n in c.fields
            ]
            lines.append("")
        lines.append("</details>")
    return "\n".join(lines) + "\n"

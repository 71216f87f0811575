"""The upgrade check's judgement (scripts/upgrade_check.py compare): data-holding resources that
would be replaced or deleted, and URNs that disappear, fail it unless releases.yaml excepts them."""

import importlib.util
import sys

import yaml
from conftest import ROOT

_spec = importlib.util.spec_from_file_location(
    "upgrade_check", ROOT / "scripts" / "upgrade_check.py"
)
upgrade_check = importlib.util.module_from_spec(_spec)
sys.modules["upgrade_check"] = upgrade_check
_spec.loader.exec_module(upgrade_check)

SET = "urn:pulumi:prod::djangoapp::djangoapp:index:DjangoApp$kubernetes:apps/v1:StatefulSet::shop-postgres"
SVC = (
    "urn:pulumi:prod::djangoapp::djangoapp:index:DjangoApp$kubernetes:core/v1:Service::shop-service"
)


def resource(urn, inputs, **options):
    return {"urn": urn, "type": urn.split("::")[-2].split("$")[-1], "custom": True, "inputs": inputs,
            "aliases": [], "ignoreChanges": [], "replaceOnChanges": [], **options}  # fmt: skip


def statefulset(size):
    return resource(
        SET,
        {
            "spec": {
                "volumeClaimTemplates": [{"spec": {"resources": {"requests": {"storage": size}}}}]
            }
        },
    )


def test_an_unchanged_program_passes():
    before = [statefulset("10Gi"), resource(SVC, {"spec": {}})]
    assert upgrade_check.compare(before, before, {}) == []


def test_a_data_holder_that_would_be_replaced_cannot_pass():
    (problem,) = upgrade_check.compare([statefulset("10Gi")], [statefulset("20Gi")], {})
    assert SET in problem and "HOLDS DATA and would be replaced" in problem


def test_a_data_holder_whose_replacing_field_is_ignored_passes():
    after = statefulset("20Gi") | {"ignoreChanges": ["spec.volumeClaimTemplates"]}
    assert upgrade_check.compare([statefulset("10Gi")], [after], {}) == []


def test_a_urn_that_disappears_cannot_pass_unless_aliased_or_excepted():
    before = [statefulset("10Gi"), resource(SVC, {})]
    (problem,) = upgrade_check.compare(before, [statefulset("10Gi")], {})
    assert problem == f"{SVC}: disappears"
    renamed = resource(SVC.replace("shop-service", "shop-web"), {}) | {"aliases": [SVC]}
    assert upgrade_check.compare(before, [statefulset("10Gi"), renamed], {}) == []
    assert upgrade_check.compare(before, [statefulset("10Gi")], {SVC: {"migration": "why"}}) == []


def test_every_exception_has_an_alias_or_a_migration():
    releases = yaml.safe_load((ROOT / "releases.yaml").read_text())["releases"]
    for release in releases:
        for exception in release.get("exceptions", []):
            assert exception["urn"].startswith("urn:pulumi:") and (
                exception.get("alias") or exception.get("migration")
            )


def test_the_updated_kinds_are_what_changed_inputs_and_nothing_else():
    # releases.yaml's `updates` (what the CHANGELOG says an up updates) is compared with these.
    before = [statefulset("10Gi"), resource(SVC, {"spec": {}})]
    assert upgrade_check._updated_kinds(before, before) == set()
    assert upgrade_check._updated_kinds(
        before, [statefulset("20Gi"), resource(SVC, {"spec": {}})]
    ) == {"StatefulSet"}

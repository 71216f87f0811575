"""Django's `check --deploy` as the release gate, and the HTTPS settings that let an app pass it.
Run for real (pass, fail, each migrations mode) in tests/contract/test_contract_django.py."""

import pytest
from conftest import MINIMAL, REFS

from pulumi_djangoapp.builders import app, deploy_check
from pulumi_djangoapp.settings import normalise
from pulumi_djangoapp.settings.checks import ValidationError

INGRESS = {"ingress": {"hosts": ["shop.example.com"], "ingress_cidrs": ["10.0.0.0/24"]}}
ROUTE = {
    "http_route": {
        "hosts": ["shop.example.com"],
        "parent_refs": [{"name": "gw", "namespace": "infra"}],
    }
}
HTTPS_CHECKS = ["security.W004", "security.W008", "security.W012", "security.W016"]


def silenced(**args):
    return [check for check, _ in deploy_check.silenced(normalise("shop", {**MINIMAL, **args}))]


def env(**args):
    s = normalise("shop", {**MINIMAL, **args})
    (django,) = app.pod_spec(s, REFS)["containers"]
    return {e["name"]: e.get("value") for e in django["env"]}


def test_without_a_way_in_the_https_checks_are_silenced_with_a_reason():
    s = normalise("shop", MINIMAL)
    reasons = dict(deploy_check.silenced(s))
    assert list(reasons) == HTTPS_CHECKS
    assert set(reasons.values()) == {deploy_check.NOT_HTTPS}


def test_behind_a_tls_way_in_only_the_preload_check_is_silenced_by_default():
    assert silenced(**INGRESS) == ["security.W021"]
    assert silenced(**ROUTE) == ["security.W021"]


def test_without_network_policies_django_cannot_redirect_to_https_so_w008_is_silenced():
    assert silenced(**INGRESS, network_policies=False) == ["security.W008", "security.W021"]


def test_each_hsts_choice_silences_exactly_the_check_it_makes_fail():
    assert silenced(**INGRESS, hsts={"include_subdomains": False}) == [
        "security.W005",
        "security.W021",
    ]
    assert silenced(**INGRESS, hsts={"preload": True}) == []
    assert silenced(**INGRESS, hsts={"seconds": 0}) == ["security.W004"]


def test_the_users_own_silenced_checks_follow_the_components():
    assert silenced(deploy_check={"silenced": ["security.W018", "security.W004"]}) == [
        *HTTPS_CHECKS,
        "security.W018",
    ]


def test_a_tls_way_in_gives_the_app_hsts_secure_cookies_and_the_https_redirect():
    e = env(**INGRESS)
    assert {
        k: e[k] for k in e if k.startswith("DJANGO_SECURE_") or k.endswith("COOKIE_SECURE")
    } == {
        "DJANGO_SECURE_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO,https",
        "DJANGO_SECURE_HSTS_SECONDS": "31536000",
        "DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS": "true",
        "DJANGO_SECURE_HSTS_PRELOAD": "false",
        "DJANGO_SESSION_COOKIE_SECURE": "true",
        "DJANGO_CSRF_COOKIE_SECURE": "true",
        "DJANGO_SECURE_SSL_REDIRECT": "true",
    }


def test_without_the_proxy_header_the_app_cannot_be_told_to_redirect_to_https():
    e = env(**INGRESS, network_policies=False)
    assert "DJANGO_SECURE_PROXY_SSL_HEADER" not in e
    assert e["DJANGO_SECURE_SSL_REDIRECT"] == "false"


def test_without_a_way_in_the_app_gets_no_https_settings():
    e = env()
    assert not [k for k in e if "HSTS" in k or "COOKIE_SECURE" in k or "SSL_REDIRECT" in k]


def test_the_migrate_step_carries_the_gate_and_a_switched_off_gate_carries_nothing():
    def migrate_env(**args):
        s = normalise("shop", {**MINIMAL, **args})
        step = app.pod_spec(s, REFS)["initContainers"][-1]
        assert step["name"] == "migrate"
        return {e["name"]: e.get("value") for e in step["env"]}

    on = migrate_env(deploy_check={"fail_level": "ERROR"})
    assert on["DEPLOY_CHECK_FAIL_LEVEL"] == "ERROR"
    assert on["DEPLOY_CHECK_SILENCED"] == ",".join(HTTPS_CHECKS)
    off = migrate_env(deploy_check={"enabled": False})
    assert "DEPLOY_CHECK_FAIL_LEVEL" not in off and "DEPLOY_CHECK_SILENCED" not in off


def test_the_gate_script_skips_itself_without_its_fail_level():
    # The same migrate script serves a switched-off gate: it must read the level, not assume one.
    assert 'level = os.environ.get("DEPLOY_CHECK_FAIL_LEVEL")\nif level:' in deploy_check.SCRIPT


@pytest.mark.parametrize(
    "args, field",
    [
        ({"deploy_check": {"fail_level": "warning"}}, "deploy_check.fail_level"),
        ({"deploy_check": {"silenced": ["W021"]}}, "deploy_check.silenced[0]"),
        ({"deploy_check": {"silenced": "security.W021"}}, "deploy_check.silenced"),
        ({"deploy_check": {"enabled": "yes"}}, "deploy_check.enabled"),
        ({"deploy_check": {"level": "ERROR"}}, "deploy_check.level"),
        ({"hsts": {"seconds": 3600}}, "hsts"),
        ({**INGRESS, "hsts": {"seconds": -1}}, "hsts.seconds"),
        ({**INGRESS, "hsts": {"preload": "true"}}, "hsts.preload"),
    ],
)
def test_the_gate_and_hsts_cannot_take_what_django_or_browsers_would_not(args, field):
    with pytest.raises(ValidationError) as error:
        normalise("shop", {**MINIMAL, **args})
    assert field in {p.field for p in error.value.problems}


def test_the_gate_and_hsts_can_take_every_documented_value():
    for level in ("WARNING", "ERROR", "CRITICAL", "INFO", "DEBUG"):
        assert (
            normalise(
                "shop", {**MINIMAL, "deploy_check": {"fail_level": level}}
            ).deploy_check.fail_level
            == level
        )
    s = normalise("shop", {**MINIMAL, **INGRESS, "hsts": {"seconds": 3600, "preload": True}})
    assert (s.hsts.seconds, s.hsts.include_subdomains, s.hsts.preload) == (3600, True, True)


def test_the_readme_names_every_check_the_component_can_silence_and_why(root):
    readme = (root / "README.md").read_text()
    table = readme[readme.index("| silenced | when | why |") :]
    table = table[: table.index("\n\n")]
    produced = set()
    for args in ({}, INGRESS, {**INGRESS, "network_policies": False}, {**INGRESS, "hsts": {"seconds": 0}},
                 {**INGRESS, "hsts": {"include_subdomains": False}}):  # fmt: skip
        produced |= set(silenced(**args))
    assert produced == {*HTTPS_CHECKS, "security.W005", "security.W021"}
    for check in produced:
        assert check.split(".")[1] in table, check

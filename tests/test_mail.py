"""Outgoing mail: an SMTP URL with the user's password, delivered as a secret file, the senders in
env; never unencrypted, never in env values or outputs. Sent for real through a local SMTP server
in tests/contract/test_contract_django.py."""

import dataclasses
import json
import urllib.parse

import pulumi
import pytest
from conftest import KUBERNETES_ONLY, MINIMAL, REFS
from harness import is_secret, run_program

from pulumi_djangoapp import DjangoApp
from pulumi_djangoapp.builders import mail, manifests
from pulumi_djangoapp.settings import normalise
from pulumi_djangoapp.settings.checks import ValidationError
from pulumi_djangoapp.tools.stack_config import args_from_config

SES = "smtp://AKIAEXAMPLE@email-smtp.eu-west-3.amazonaws.com"
PASSWORD = "BK/x+9 p@ss:word%"
MAIL = {"url": SES, "password": PASSWORD, "default_from_email": "Shop <shop@example.com>"}
PLACEHOLDERS = {k: f"[{k}]" for k in (*manifests.SECRET_VALUES, *manifests.FEATURE_SECRET_VALUES)}


def objects(base=MINIMAL, **args):
    s = normalise("shop", {**base, **args})
    ids = {**REFS.secret_ids, "email-url": "arn:aws:secretsmanager:eu-west-3:1:secret:mail-AbCdEf"}
    refs = dataclasses.replace(REFS, secret_ids=ids) if s.uses_aws else None
    return dict(manifests.kubernetes_objects(s, PLACEHOLDERS, refs))


def refused(**mail_args):
    with pytest.raises(ValidationError) as error:
        normalise("shop", {**MINIMAL, "mail": mail_args})
    return {p.field: p for p in error.value.problems}


def django_env(objs):
    (django,) = objs["deployment"]["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e.get("value") for e in django["env"]}


def test_the_url_file_carries_the_password_escaped_so_the_app_reads_it_back_exactly():
    url = mail.url(normalise("shop", {**MINIMAL, "mail": MAIL}).mail, PASSWORD)
    parts = urllib.parse.urlsplit(url)
    assert (parts.scheme, parts.hostname, parts.username) == (
        "smtp",
        "email-smtp.eu-west-3.amazonaws.com",
        "AKIAEXAMPLE",
    )
    assert urllib.parse.unquote(parts.password) == PASSWORD


def test_a_relay_without_a_login_gets_a_url_without_credentials():
    m = normalise(
        "shop",
        {**MINIMAL, "mail": {"url": "smtps://relay.internal:465", "default_from_email": "a@b.c"}},
    ).mail
    assert mail.url(m, None) == "smtps://relay.internal:465"
    assert m.port == 465 and m.server_email == "a@b.c"


def test_the_app_reads_the_url_from_a_file_and_the_senders_from_env():
    for base in (MINIMAL, KUBERNETES_ONLY):
        env = django_env(objects(base, mail={**MAIL, "server_email": "errors@example.com"}))
        assert env["EMAIL_URL_FILE"] == "/run/secrets/app/email-url"
        assert env["DJANGO_DEFAULT_FROM_EMAIL"] == "Shop <shop@example.com>"
        assert env["DJANGO_SERVER_EMAIL"] == "errors@example.com"
        assert not any(PASSWORD in str(v) or "smtp://" in str(v) for v in env.values())


def test_the_app_can_reach_the_smtp_port_and_backups_cannot():
    objs = objects(mail=MAIL)
    assert {"ports": [{"port": 587, "protocol": "TCP"}]} in objs["netpol-web"]["spec"]["egress"]
    objs = objects(mail={**MAIL, "url": "smtps://AKIAEXAMPLE@email-smtp.eu-west-3.amazonaws.com"})
    assert {"ports": [{"port": 465, "protocol": "TCP"}]} in objs["netpol-web"]["spec"]["egress"]


def test_an_app_without_mail_has_no_mail_file_env_or_egress():
    objs = objects()
    env = django_env(objs)
    assert not {"EMAIL_URL_FILE", "DJANGO_DEFAULT_FROM_EMAIL"} & set(env)
    assert {"ports": [{"port": 587, "protocol": "TCP"}]} not in objs["netpol-web"]["spec"]["egress"]


@pytest.mark.parametrize("backend", [MINIMAL, KUBERNETES_ONLY], ids=["aws", "kubernetes"])
def test_the_password_stays_secret_from_stack_config_to_the_pod_and_never_reaches_an_output(
    backend,
):
    given = pulumi.Output.secret(PASSWORD)
    run = run_program(
        lambda: DjangoApp("shop", {**backend, "mail": {**MAIL, "password": given}}).urls
    )
    forms = (PASSWORD, urllib.parse.quote(PASSWORD, safe=""))  # as given, and inside the URL

    def holds(value):
        return any(form in json.dumps(value, default=str) for form in forms)

    holders = [r for r in run.registrations if holds(r.inputs)]
    assert holders, "the URL file's value was registered somewhere"
    for holder in holders:
        assert holder.type in (
            "aws:secretsmanager/secretVersion:SecretVersion",
            "kubernetes:core/v1:Secret",
        ), holder.type
        field = "secretString" if holder.type.startswith("aws:") else "stringData"
        assert is_secret(holder.raw_inputs[field])
    assert not holds(run.outputs)


def test_a_plain_string_password_is_kept_secret_too():
    run = run_program(lambda: DjangoApp("shop", {**MINIMAL, "mail": MAIL}).urls)
    version = run.one(
        "aws:secretsmanager/secretVersion:SecretVersion", "shop-secrets-email-url-version"
    )
    assert is_secret(version.raw_inputs["secretString"])
    assert urllib.parse.unquote(version.inputs["secretString"]).endswith(
        f":{PASSWORD}@email-smtp.eu-west-3.amazonaws.com"
    )


@pytest.mark.parametrize(
    "value, field, words",
    [
        (
            {**MAIL, "url": "smtp://u:hunter2@mail.example.com"},
            "mail.url",
            "must not carry a password",
        ),
        ({**MAIL, "url": "http://mail.example.com"}, "mail.url", "never sent unencrypted"),
        ({**MAIL, "url": "smtp://u@mail.example.com/inbox"}, "mail.url", "only scheme"),
        ({"url": SES, "default_from_email": "a@b.c"}, "mail.password", "is required"),
        ({**MAIL, "url": "smtp://mail.example.com"}, "mail.password", "needs a user"),
        ({**MAIL, "default_from_email": "shop"}, "mail.default_from_email", "an address"),
        ({**MAIL, "server_email": "x@y\r\nBcc: z@w"}, "mail.server_email", "an address"),
        ({"url": SES, "password": "x"}, "mail.default_from_email", "is required"),
        ({**MAIL, "host": "x"}, "mail.host", ""),
    ],
)
def test_mail_cannot_be_unencrypted_misaddressed_or_leak_its_password(value, field, words):
    problems = refused(**value)
    assert field in problems and words in problems[field].allowed, problems
    assert "hunter2" not in str(list(problems.values()))


def test_mail_can_be_sent_as_given():
    m = normalise("shop", {**MINIMAL, "mail": MAIL}).mail
    assert (m.host, m.port, m.default_from_email, m.server_email) == (
        "email-smtp.eu-west-3.amazonaws.com",
        587,
        "Shop <shop@example.com>",
        "Shop <shop@example.com>",
    )


def config(values, secret=()):
    full = {f"djangoapp:{k}": v for k, v in values.items()}
    return args_from_config(
        lambda key: full.get(f"djangoapp:{key}"),
        "djangoapp",
        get_secret=lambda key: pulumi.Output.secret(full[f"djangoapp:{key}"]),
        is_secret=lambda key: key in {f"djangoapp:{k}" for k in secret},
    )


BASE = {"image": "ghcr.io/acme/shop:1.4.2", "kubeContext": "kind", "secretsBackend": "kubernetes"}


def test_a_stack_can_take_the_smtp_password_from_a_secure_value():
    _, args = config(
        {**BASE, "mailUrl": SES, "mailPassword": PASSWORD, "mailFrom": "shop@example.com"},
        secret=("mailPassword",),
    )
    assert isinstance(args["mail"]["password"], pulumi.Output)
    assert args["mail"]["url"] == SES and args["mail"]["default_from_email"] == "shop@example.com"


def test_a_stack_cannot_hold_the_smtp_password_in_plain_text():
    with pytest.raises(ValidationError) as error:
        config({**BASE, "mailUrl": SES, "mailPassword": PASSWORD, "mailFrom": "shop@example.com"})
    (problem,) = error.value.problems
    assert problem.field == "djangoapp:mailPassword" and "--secret" in problem.allowed
    assert PASSWORD not in str(error.value)


def test_mail_keys_cannot_be_set_without_a_mail_url():
    with pytest.raises(ValidationError) as error:
        config({**BASE, "mailFrom": "shop@example.com", "mailServerEmail": "e@example.com"})
    assert {p.field for p in error.value.problems} == {
        "djangoapp:mailFrom",
        "djangoapp:mailServerEmail",
    }

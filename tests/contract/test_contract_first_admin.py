"""The first admin as rendered, run for real: the Job's steps (fetch with the admin password's
secret, wait-for-db, wait-for-migrations, then the script in the example app's `manage.py`) on
PostgreSQL and moto. Created once; a second run leaves a changed password alone."""

from __future__ import annotations

from .test_contract_pod import prepare

CHECK = """
from django.contrib.auth import authenticate, get_user_model
User = get_user_model()
print(User.objects.filter(is_superuser=True).count(), *(bool(authenticate(username="{user}", password=p)) for p in {passwords!r}))
"""

SET_PASSWORD = """
from django.contrib.auth import get_user_model
user = get_user_model().objects.get(username="{user}")
user.set_password("changed-by-the-operator")
user.save()
"""


def admin_pod(rendered) -> dict:
    job = rendered.run.one("batch/v1:Job", "shop-first-admin")
    return job.inputs["spec"]["template"]["spec"]


def manage_shell(rendered, kubelet, code):
    django = rendered.container("django")
    command = ["python", "manage.py", "shell", "-v", "0", "-c", code]
    return kubelet.run({**django, "command": command, "args": []})


def run_job(rendered, kubelet):
    pod = admin_pod(rendered)
    prepare(rendered, kubelet, pod)
    gate = kubelet.run(rendered.container("wait-for-migrations", pod), timeout=60)
    assert gate.returncode == 0, gate.stderr
    return kubelet.run(rendered.container("create-admin", pod))


def test_the_job_creates_the_superuser_once_with_the_generated_password(app, kubelet):
    rendered = app(
        first_admin={"username": "ops", "email": "ops@example.com"},
        migrations_wait_timeout_seconds=5,
    )
    prepare(rendered, kubelet)
    assert kubelet.run(rendered.container("migrate")).returncode == 0
    result = run_job(rendered, kubelet)
    assert result.returncode == 0, result.stderr
    assert "first-admin: created 'ops'" in result.stdout
    password = (rendered.tmp / "secrets" / "admin-password").read_text()
    assert len(password) == 32
    check = manage_shell(rendered, kubelet, CHECK.format(user="ops", passwords=[password]))
    assert check.stdout.split() == ["1", "True"], check.stderr


def test_a_second_run_cannot_reset_a_password_the_operator_changed(app, kubelet):
    rendered = app(first_admin={}, migrations_wait_timeout_seconds=5)
    prepare(rendered, kubelet)
    assert kubelet.run(rendered.container("migrate")).returncode == 0
    assert run_job(rendered, kubelet).returncode == 0
    changed = manage_shell(rendered, kubelet, SET_PASSWORD.format(user="admin"))
    assert changed.returncode == 0, changed.stderr

    again = run_job(rendered, kubelet)
    assert again.returncode == 0, again.stderr
    assert "'admin' exists; left as it is" in again.stdout
    generated = (rendered.tmp / "secrets" / "admin-password").read_text()
    # One superuser; the generated password no longer logs in, the operator's does.
    check = CHECK.format(user="admin", passwords=[generated, "changed-by-the-operator"])
    assert manage_shell(rendered, kubelet, check).stdout.split() == ["1", "False", "True"]


def test_the_job_waits_for_migrations_and_cannot_create_anything_before_them(app, kubelet):
    rendered = app(first_admin={}, migrations_wait_timeout_seconds=1)
    pod = admin_pod(rendered)
    prepare(rendered, kubelet, pod)
    gate = kubelet.run(rendered.container("wait-for-migrations", pod), timeout=60)
    assert gate.returncode == 1 and "migrations still unapplied" in gate.stderr


def test_only_the_jobs_pod_reads_the_admin_password(app):
    rendered = app(first_admin={})
    web_fetch = {e["name"] for e in rendered.container("fetch-secrets")["env"]}
    job_fetch = {e["name"] for e in rendered.container("fetch-secrets", admin_pod(rendered))["env"]}
    assert "ADMIN_PASSWORD_SECRET_ID" in job_fetch - web_fetch
    django = {e["name"] for e in rendered.container("django")["env"]}
    assert not {"DJANGO_SUPERUSER_PASSWORD_FILE", "DJANGO_SUPERUSER_USERNAME"} & django

"""Media uploads as rendered, run for real: the example app's django-storages (boto3) in the
django container's own env, against moto with IAM enforced and the media role's policy exactly
as the component registered it. moto evaluates actions and resources, not the listing's
``s3:prefix`` condition: that one is proven on the document (tests/test_media.py).

The stand-in beyond the kubelet's: the container's web-identity token becomes the role's keys
(moto's STS would accept any token), as in the backup tests."""

from __future__ import annotations

import json

import pytest

from .services import IamMoto
from .test_contract_backups import with_credentials
from .test_contract_pod import prepare

UPLOAD = """
import json
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
saved = default_storage.save("avatars/ada.txt", ContentFile(b"portrait of Ada"))
with default_storage.open(saved) as handle:
    body = handle.read().decode()
listed = default_storage.listdir("avatars")[1]
default_storage.delete(saved)
print(json.dumps({"saved": saved, "body": body, "listed": listed, "exists": default_storage.exists(saved)}))
"""


def media_policy(rendered) -> str:
    return rendered.run.one("iam/rolePolicy:RolePolicy", "shop-media-policy").inputs["policy"]


@pytest.fixture
def media_app(app, kubelet):
    """The app with media, prepared (config and secrets fetched), and an IAM-enforcing moto with
    its bucket, an object outside the prefix, and the media role's keys."""
    rendered = app(media={})
    prepare(rendered, kubelet)
    policy = media_policy(rendered)
    bucket = json.loads(policy)["Statement"][0]["Resource"].split(":::", 1)[1]
    server = IamMoto(setup_calls=6).start()
    try:
        s3 = server.client("s3")
        s3.create_bucket(Bucket=bucket)
        s3.put_object(Bucket=bucket, Key="shop/other-app/media/secret.txt", Body=b"not yours")
        trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "sts:AssumeRole"}]}  # fmt: skip
        iam = server.client("iam")
        arn = iam.create_role(RoleName="shop-media-role", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]  # fmt: skip
        iam.put_role_policy(RoleName="shop-media-role", PolicyName="media", PolicyDocument=policy)
        keys = server.client("sts").assume_role(RoleArn=arn, RoleSessionName="shop-media")["Credentials"]  # fmt: skip
        credentials = {
            "aws_access_key_id": keys["AccessKeyId"],
            "aws_secret_access_key": keys["SecretAccessKey"],
            "aws_session_token": keys["SessionToken"],
        }
        yield rendered, server, bucket, credentials
    finally:
        server.stop()


def django_with(rendered, server, credentials, command):
    container = with_credentials(rendered.container("django"), server, credentials)
    env = [*container["env"], {"name": "AWS_ENDPOINT_URL", "value": server.endpoint}]
    return {**container, "env": env, "command": command, "args": []}


def test_the_app_can_upload_read_list_and_delete_under_its_prefix_with_the_media_role(
    media_app, kubelet
):
    rendered, server, bucket, credentials = media_app
    env = {e["name"]: e.get("value") for e in rendered.container("django")["env"]}
    assert env["DJANGO_MEDIA_BUCKET"] == bucket and env["DJANGO_MEDIA_PREFIX"] == "shop/shop/media"
    command = ["python", "manage.py", "shell", "-v", "0", "-c", UPLOAD]
    result = kubelet.run(django_with(rendered, server, credentials, command))
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome == {
        "saved": "avatars/ada.txt",
        "body": "portrait of Ada",
        "listed": ["ada.txt"],
        "exists": False,
    }


def test_the_media_role_cannot_touch_objects_outside_its_prefix_or_bucket(media_app):
    _, server, bucket, credentials = media_app
    s3 = server.client("s3", credentials)
    s3.put_object(Bucket=bucket, Key="shop/shop/media/ok.txt", Body=b"mine")
    for action in (
        lambda: s3.get_object(Bucket=bucket, Key="shop/other-app/media/secret.txt"),
        lambda: s3.put_object(Bucket=bucket, Key="shop/other-app/media/x.txt", Body=b"x"),
        lambda: s3.delete_object(Bucket=bucket, Key="shop/other-app/media/secret.txt"),
        lambda: s3.put_object(Bucket=bucket, Key="outside.txt", Body=b"x"),
        lambda: s3.put_bucket_policy(Bucket=bucket, Policy="{}"),
        lambda: s3.create_bucket(Bucket="another-bucket"),
    ):
        with pytest.raises(Exception, match="AccessDenied"):
            action()


def test_the_fetch_steps_and_the_migrate_step_hold_no_media_access(media_app):
    rendered, *_ = media_app
    pod = rendered.pod()
    for step in pod["initContainers"]:
        names = {e["name"] for e in step.get("env", [])}
        assert "DJANGO_MEDIA_BUCKET" not in names, step["name"]
        mounts = {m["name"] for m in step.get("volumeMounts", [])}
        assert "aws-media-token" not in mounts, step["name"]

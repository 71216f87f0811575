"""``AppSecrets``: the generated credentials of one app, and where they are kept.

The database password and Django's ``SECRET_KEY`` are generated once (pulumi-random, kept in
state) and are Pulumi secrets throughout. With Secrets Manager each file the app reads is its own
secret; the in-cluster Postgres takes its password from the same generated value.
"""

from __future__ import annotations

import base64
import json
from typing import Any, Optional

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from ..builders import broker, cache, database, mail, monitoring, queue_autoscaling, rds, valkey
from ..settings.app import Settings
from ..settings.secret_files import (
    ADMIN_PASSWORD,
    BROKER_URL,
    CACHE_URL,
    DATABASE_JSON,
    DATABASE_URL,
    EMAIL_URL,
    SECRET_KEY,
)

TYPE_TOKEN = "djangoapp:index:AppSecrets"


def secret_description(s: Settings, file_name: str) -> str:
    return f"{file_name} of DjangoApp {s.name} in namespace {s.namespace} (managed by Pulumi)"


def _server_credentials(
    prefix: str, keep: pulumi.ResourceOptions, url_of: Any
) -> "tuple[pulumi.Output[str], pulumi.Output[str]]":
    """A Valkey server's generated password (``<prefix>-password``) as the URL the app reads and
    the server's ACL file. Alphanumeric like the database's: it goes into a URL and an ACL line
    unescaped."""
    password = random.RandomPassword(f"{prefix}-password", length=32, special=False, opts=keep)
    return (
        pulumi.Output.secret(password.result.apply(url_of)),
        pulumi.Output.secret(password.result.apply(valkey.acl_file)),
    )


class AppSecrets(pulumi.ComponentResource):
    """Generated secrets of a ``DjangoApp``; in AWS Secrets Manager with the AWS backend."""

    password: pulumi.Output[str]
    secret_key: pulumi.Output[str]
    database_url: pulumi.Output[str]
    database_json: pulumi.Output[str]
    # With a broker: the URL the app reads, and the in-cluster server's ACL file.
    broker_url: Optional[pulumi.Output[str]]
    broker_acl: Optional[pulumi.Output[str]]
    # With a cache: its URL and the in-cluster server's ACL file; with mail: the SMTP URL.
    cache_url: Optional[pulumi.Output[str]]
    cache_acl: Optional[pulumi.Output[str]]
    email_url: Optional[pulumi.Output[str]]
    # With a first admin: its generated password.
    admin_password: Optional[pulumi.Output[str]]
    # With a process scaled on its queue: KEDA's user of the broker.
    broker_scaler_password: Optional[pulumi.Output[str]]
    # With monitoring: the broker exporter's password file.
    broker_exporter_passwords: Optional[pulumi.Output[str]]
    # With a restore drill: the drill role's generated password and its SCRAM verifier.
    drill_password: Optional[pulumi.Output[str]]
    drill_password_verifier: Optional[pulumi.Output[str]]
    # With monitoring and the in-cluster database: the monitor role's, the same way.
    monitor_password: Optional[pulumi.Output[str]]
    monitor_password_verifier: Optional[pulumi.Output[str]]
    # File name -> secret ARN; empty with the Kubernetes backend.
    secret_arns: dict[str, pulumi.Output[str]]

    def _role_password(self, resource_name: str) -> "tuple[pulumi.Output[str], pulumi.Output[str]]":
        """A generated password of an in-cluster role and its SCRAM verifier (what the role Job
        sends). Not protected: it guards no data, and turning the role's feature off removes it."""
        child = pulumi.ResourceOptions(parent=self)
        password = random.RandomPassword(resource_name, length=32, special=False, opts=child)
        salt = random.RandomId(
            f"{resource_name}-salt", byte_length=rds.SCRAM_SALT_BYTES, opts=child
        )
        verifier = pulumi.Output.all(password.result, salt.b64_std).apply(
            lambda v: rds.scram_sha256_verifier(v[0], base64.b64decode(v[1]))
        )
        return pulumi.Output.secret(password.result), pulumi.Output.secret(verifier)

    def __init__(
        self,
        name: str,
        settings: Settings,
        opts: Optional[pulumi.ResourceOptions] = None,
        database_host: Optional[pulumi.Output[str]] = None,
    ):
        super().__init__(TYPE_TOKEN, name, {}, opts)
        s = settings
        keep = pulumi.ResourceOptions(
            parent=self, protect=s.protect_data, retain_on_delete=s.protect_data
        )
        # Alphanumeric: it is embedded in DATABASE_URL without URL-escaping.
        password = random.RandomPassword(f"{name}-db-password", length=32, special=False, opts=keep)
        secret_key = random.RandomPassword(
            f"{name}-secret-key",
            length=64,
            special=True,
            override_special="!@#%^&*-_=+",
            opts=keep,
        )
        self.password = pulumi.Output.secret(password.result)
        self.secret_key = pulumi.Output.secret(secret_key.result)
        # An RDS address is only known once the instance exists; other hosts are settings.
        host = pulumi.Output.from_input(database_host)
        credentials = pulumi.Output.all(password.result, host)
        self.database_url = pulumi.Output.secret(
            credentials.apply(lambda v: database.database_url(s, v[0], v[1]))
        )
        verifier: Any = None
        if s.database.provider == "rds":
            # The role Job sets the password by its SCRAM verifier (rds.scram_sha256_verifier);
            # the salt is random, and stable across runs like the password.
            salt = random.RandomId(
                f"{name}-db-password-salt", byte_length=rds.SCRAM_SALT_BYTES, opts=keep
            )
            verifier = pulumi.Output.all(password.result, salt.b64_std).apply(
                lambda v: rds.scram_sha256_verifier(v[0], base64.b64decode(v[1]))
            )
        # Built from the resolved values and dumped once (Output.json_dumps unwraps key by key).
        self.database_json = pulumi.Output.secret(
            pulumi.Output.all(password.result, host, verifier).apply(
                lambda v: json.dumps(
                    {
                        **database.database_document(s, v[0], v[1]),
                        "database_url": database.database_url(s, v[0], v[1]),
                        **({rds.VERIFIER_KEY: v[2]} if v[2] is not None else {}),
                    }
                )
            )
        )

        self.broker_url = self.broker_acl = self.broker_scaler_password = None
        self.broker_exporter_passwords = None
        if s.broker:
            b = s.broker
            self.broker_url, self.broker_acl = _server_credentials(
                f"{name}-broker", keep, lambda p: broker.url(b, s.name, s.namespace, p)
            )
            # Users of the broker besides the app's: KEDA's scaler, the metrics exporter; each
            # its own password and a line of the ACL file.
            extra = []
            child = pulumi.ResourceOptions(parent=self)
            if queue_autoscaling.queue_scaled(s):
                scaler = random.RandomPassword(
                    f"{name}-broker-scaler-password", length=32, special=False, opts=child
                )
                self.broker_scaler_password = pulumi.Output.secret(scaler.result)
                extra.append(scaler.result.apply(queue_autoscaling.scaler_acl_line))
            if monitoring.exported(s):
                exporter = random.RandomPassword(
                    f"{name}-broker-exporter-password", length=32, special=False, opts=child
                )
                self.broker_exporter_passwords = pulumi.Output.secret(
                    exporter.result.apply(lambda p: monitoring.exporter_passwords(s, p))
                )
                extra.append(exporter.result.apply(monitoring.exporter_acl_line))
            if extra:
                self.broker_acl = pulumi.Output.secret(
                    pulumi.Output.all(self.broker_acl, *extra).apply("".join)
                )
        self.cache_url = self.cache_acl = None
        if s.cache:
            c = s.cache
            self.cache_url, self.cache_acl = _server_credentials(
                f"{name}-cache", keep, lambda p: cache.url(c, s.name, s.namespace, p)
            )

        self.email_url = None
        if s.mail:
            m = s.mail
            # The user's password (a secret Output from stack config, or a string): kept secret
            # whatever it arrived as.
            self.email_url = pulumi.Output.secret(
                pulumi.Output.from_input(m.password).apply(lambda p: mail.url(m, p))
            )

        self.admin_password = None
        if s.first_admin:
            admin = random.RandomPassword(
                f"{name}-admin-password",
                length=32,
                special=True,
                override_special="!@#%^&*-_=+",
                opts=keep,
            )
            self.admin_password = pulumi.Output.secret(admin.result)

        self.drill_password = self.drill_password_verifier = None
        if s.backups and s.backups.restore_drill:
            # The drill role Job sets the password by its verifier, like the RDS role Job.
            self.drill_password, self.drill_password_verifier = self._role_password(
                f"{name}-drill-password"
            )
        self.monitor_password = self.monitor_password_verifier = None
        if monitoring.database_exported(s):
            self.monitor_password, self.monitor_password_verifier = self._role_password(
                f"{name}-monitor-password"
            )

        self.secret_arns = {}
        if s.uses_aws:
            assert s.aws is not None
            values = {
                DATABASE_JSON: self.database_json,
                DATABASE_URL: self.database_url,
                SECRET_KEY: self.secret_key,
                BROKER_URL: self.broker_url,
                CACHE_URL: self.cache_url,
                EMAIL_URL: self.email_url,
                ADMIN_PASSWORD: self.admin_password,
            }
            for file_name, value in ((f.key, values[f]) for f in s.stored_secret_files):
                role = file_name.replace(".", "-")
                secret = aws.secretsmanager.Secret(
                    f"{name}-{role}",
                    name_prefix=f"{s.namespace}/{s.name}/{file_name}-",
                    description=secret_description(s, file_name),
                    kms_key_id=s.aws.kms_key_arn,
                    recovery_window_in_days=s.aws.recovery_window_days,
                    opts=keep,
                )
                aws.secretsmanager.SecretVersion(
                    f"{name}-{role}-version",
                    secret_id=secret.id,
                    secret_string=value,
                    opts=pulumi.ResourceOptions(parent=self),
                )
                self.secret_arns[file_name] = secret.arn
        self.register_outputs(
            {
                "secret_arns": self.secret_arns,
                "database_secret_arn": self.secret_arns.get(DATABASE_JSON.key),
            }
        )

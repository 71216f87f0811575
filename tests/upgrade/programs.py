"""The API programs of the upgrade check: args every recorded release accepts, covering what
holds data in different ways (scripts/upgrade_check.py)."""

IMAGE = "ghcr.io/example/django-shop:1.0.0"
OIDC = {
    "aws_region": "eu-west-3",
    "oidc_provider_arn": "arn:aws:iam::111111111111:oidc-provider/oidc.eks.eu-west-3.amazonaws.com/id/UPGRADE0C1D",
    "oidc_provider_url": "https://oidc.eks.eu-west-3.amazonaws.com/id/UPGRADE0C1D",
}
PROGRAMS = {
    "kubernetes-backend": {"image": IMAGE, "secrets_backend": "kubernetes"},
    "protect-data": {"image": IMAGE, **OIDC, "protect_data": True},
    "external-database": {"image": IMAGE, **OIDC, "database": {"host": "db.example.internal"}},
    "job-migrations": {"image": IMAGE, **OIDC, "migrations": "job"},
}

"""The credentials Secret: where the in-cluster servers' passwords (and, with the kubernetes
backend, every secret file of ``settings/secret_files.py``) live, and how pods mount it."""

from __future__ import annotations

from ..settings.app import Settings

# Files mounted from a Secret are owned by root and the fsGroup; group read lets the app UID read
# them and nobody else.
SECRET_FILE_MODE = 0o440


def credentials_secret_name(s: Settings) -> str:
    return f"{s.name}-credentials"

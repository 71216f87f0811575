"""The mail URL the app reads from ``EMAIL_URL_FILE``: the URL as given with the password.

The password is the user's (an SES SMTP password or a relay's), so unlike the generated ones it
may hold any character: it is percent-escaped, and the app unescapes it (the example's
``settings.py`` reads it with ``urllib.parse.unquote``).
"""

from __future__ import annotations

import urllib.parse
from typing import Optional

from ..settings.mail import MailSettings


def url(m: MailSettings, password: Optional[str]) -> str:
    parts = urllib.parse.urlsplit(m.url)
    if not parts.username:
        return urllib.parse.urlunsplit((parts.scheme, parts.netloc, "", "", ""))
    secret = urllib.parse.quote(password or "", safe="")
    host = parts.hostname or ""
    netloc = f"{parts.username}:{secret}@{f'[{host}]' if ':' in host else host}"
    if parts.port:
        netloc += f":{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, netloc, "", "", ""))

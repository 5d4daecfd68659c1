"""Keeping credentials out of logs.

Reset and invitation links carry their token in the path. The app's own access log
(`web/traffic.py`) and its warnings name the matched route's template, never the path,
so a token cannot reach them; `redact_path` is for any line that must show a path.
A reverse proxy in front of the app keeps its own access log: redact these paths there
too (see docs/security.md).
"""

from __future__ import annotations

import re

# Paths whose next segment is a credential; `/invitations/new` is a page, not a token.
CREDENTIAL_PATHS = ("/invitations/", "/password/reset/")
_TOKEN_SEGMENT = re.compile(r"^(/invitations/|/password/reset/)(?!new(?:[/?]|$))[^/?]+")
REDACTED = "[redacted]"


def redact_path(path: str) -> str:
    """`path` (with or without its query) with any credential segment replaced."""
    return _TOKEN_SEGMENT.sub(lambda match: match.group(1) + REDACTED, path, count=1)

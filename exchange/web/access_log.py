"""Keeping credentials out of logs.

Reset and invitation links carry their token in the path, so every log line that names
a path goes through `redact_path`: the access log of `exchange serve` (a filter on
uvicorn's access logger, installed by `log_config`) and our own warnings and errors.
A reverse proxy in front of the app keeps its own access log: redact these paths there
too (see docs/security.md).
"""

from __future__ import annotations

import copy
import logging
import re
from typing import Any

# Paths whose next segment is a credential; `/invitations/new` is a page, not a token.
CREDENTIAL_PATHS = ("/invitations/", "/password/reset/")
_TOKEN_SEGMENT = re.compile(r"^(/invitations/|/password/reset/)(?!new(?:[/?]|$))[^/?]+")
REDACTED = "[redacted]"


def redact_path(path: str) -> str:
    """`path` (with or without its query) with any credential segment replaced."""
    return _TOKEN_SEGMENT.sub(lambda match: match.group(1) + REDACTED, path, count=1)


class RedactCredentials(logging.Filter):
    """Rewrites the path in uvicorn's access log records (and any argument that is one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                redact_path(arg) if isinstance(arg, str) and arg.startswith("/") else arg
                for arg in record.args
            )
        return True


def log_config() -> dict[str, Any]:
    """uvicorn's logging configuration, with credentials redacted from the access log.

    Passed to `uvicorn.run`, so every worker process installs it.
    """
    from uvicorn.config import LOGGING_CONFIG

    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact_credentials"] = {
        "()": "exchange.web.access_log.RedactCredentials"
    }
    config["loggers"]["uvicorn.access"]["filters"] = ["redact_credentials"]
    return config

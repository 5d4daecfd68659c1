"""Credentials stay out of the server's logs: the reset and invitation tokens that travel
in the path are redacted from the access log of `exchange serve`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from exchange.web.access_log import redact_path

from support import free_port

ROOT = Path(__file__).resolve().parent.parent
RESET_TOKEN = "reset-TOKEN-a1b2c3d4e5f6g7h8i9j0"
INVITATION_TOKEN = "invite-TOKEN-z9y8x7w6v5u4t3s2r1"


def test_redaction_keeps_the_shape_of_the_path() -> None:
    assert redact_path(f"/password/reset/{RESET_TOKEN}") == "/password/reset/[redacted]"
    assert redact_path(f"/invitations/{INVITATION_TOKEN}?a=1") == "/invitations/[redacted]?a=1"
    assert redact_path("/invitations/new") == "/invitations/new"
    assert redact_path("/password/reset") == "/password/reset"
    assert redact_path("/cities/lyon-fr") == "/cities/lyon-fr"


def test_the_access_log_carries_no_token(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "EXCHANGE_DATABASE_URL": f"sqlite://{tmp_path}/log.sqlite3",
        "EXCHANGE_VAR_DIR": str(tmp_path / "var"),
    }
    migrate = [sys.executable, "-m", "exchange", "migrate"]
    assert subprocess.run(migrate, env=env, cwd=ROOT, capture_output=True).returncode == 0
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "exchange", "serve", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert httpx.get(f"{base}/password/reset/{RESET_TOKEN}").status_code == 404
        assert httpx.get(f"{base}/invitations/{INVITATION_TOKEN}?from=mail").status_code == 404
        assert httpx.get(f"{base}/invitations/new").status_code == 303
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=20)
    finally:
        if server.poll() is None:
            server.kill()
    log = server.stdout.read() if server.stdout else ""
    # The access log names the route, never the path that holds the token.
    assert "GET /password/reset/{token} 404" in log, log
    assert "GET /invitations/{token} 404" in log
    assert "GET /invitations/new 303" in log
    assert "TOKEN" not in log

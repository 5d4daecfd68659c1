"""The `exchange` command as a user runs it: a real process, real databases."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from exchange import cli

from support import free_port

ROOT = Path(__file__).resolve().parent.parent


def run_cli(
    *args: str, tmp_path: Path, stdin: str = "", **env: str
) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "EXCHANGE_DATABASE_URL": f"sqlite://{tmp_path}/cli.sqlite3",
        "EXCHANGE_VAR_DIR": str(tmp_path / "var"),
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "exchange", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=environment,
        cwd=ROOT,
        timeout=120,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], text: str) -> None:
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("exchange: error:")
    assert text in lines[0]


@pytest.mark.parametrize(
    "command", [[], ["serve"], ["migrate"], ["demo"], ["create-user"], ["worker"]]
)
def test_help_for_every_command(command: list[str], tmp_path: Path) -> None:
    result = run_cli(*command, "--help", tmp_path=tmp_path)
    assert result.returncode == 0
    assert "usage: exchange" in result.stdout


def test_bad_flag_is_a_usage_error_without_traceback(tmp_path: Path) -> None:
    result = run_cli("serve", "--no-such-flag", tmp_path=tmp_path)
    assert result.returncode == 2
    assert "unrecognized arguments: --no-such-flag" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_database_url_is_one_clear_line(tmp_path: Path) -> None:
    result = run_cli("migrate", tmp_path=tmp_path, EXCHANGE_DATABASE_URL="mysql://x/y")
    assert_one_line_error(result, "EXCHANGE_DATABASE_URL must start with sqlite:// or postgres://")


def test_unreachable_database_is_one_clear_line(tmp_path: Path) -> None:
    result = run_cli(
        "migrate",
        tmp_path=tmp_path,
        EXCHANGE_DATABASE_URL=f"postgres://postgres@127.0.0.1:{free_port()}/nowhere",
    )
    assert_one_line_error(result, "cannot reach the database")


def test_production_refuses_to_start_without_a_secret(tmp_path: Path) -> None:
    result = run_cli("migrate", tmp_path=tmp_path, EXCHANGE_ENV="production")
    assert_one_line_error(result, "EXCHANGE_SECRET_KEY must be set in production")


def test_migrate_applies_once_then_reports_up_to_date(tmp_path: Path) -> None:
    first = run_cli("migrate", tmp_path=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "0001_initial" in first.stdout
    second = run_cli("migrate", tmp_path=tmp_path)
    assert second.returncode == 0
    assert "up to date" in second.stdout


def test_create_user_reads_the_password_from_stdin(tmp_path: Path) -> None:
    assert run_cli("migrate", tmp_path=tmp_path).returncode == 0
    created = run_cli(
        "create-user",
        "--email",
        "Admin@Example.org",
        "--role",
        "admin",
        "--name",
        "Ada",
        "--password-stdin",
        tmp_path=tmp_path,
        stdin="a long enough password\n",
    )
    assert created.returncode == 0, created.stderr
    assert "admin@example.org" in created.stdout
    again = run_cli(
        "create-user",
        "--email",
        "admin@example.org",
        "--role",
        "admin",
        "--name",
        "Ada",
        "--password-stdin",
        tmp_path=tmp_path,
        stdin="a long enough password\n",
    )
    assert_one_line_error(again, "already has an account")


def test_create_user_refuses_a_short_password(tmp_path: Path) -> None:
    assert run_cli("migrate", tmp_path=tmp_path).returncode == 0
    result = run_cli(
        "create-user",
        "--email",
        "s@example.org",
        "--role",
        "staff",
        "--name",
        "S",
        "--password-stdin",
        tmp_path=tmp_path,
        stdin="short\n",
    )
    assert_one_line_error(result, "password: Use at least 12 characters.")


def test_several_workers_need_postgresql(tmp_path: Path) -> None:
    result = run_cli("serve", "--workers", "2", tmp_path=tmp_path)
    assert_one_line_error(result, "SQLite serves one worker")


def test_serve_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    result = run_cli("serve", "--port", str(free_port()), tmp_path=tmp_path)
    assert_one_line_error(result, "run `exchange migrate`")


def test_serve_answers_and_shuts_down_gracefully(tmp_path: Path) -> None:
    assert run_cli("migrate", tmp_path=tmp_path).returncode == 0
    port = free_port()
    env = {
        **os.environ,
        "EXCHANGE_DATABASE_URL": f"sqlite://{tmp_path}/cli.sqlite3",
        "EXCHANGE_VAR_DIR": str(tmp_path / "var"),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "exchange", "serve", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        status = 0
        for _ in range(100):
            try:
                status = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert status == 200
        server.send_signal(signal.SIGTERM)
        # uvicorn shuts down cleanly, then re-raises the signal so the exit status tells why.
        assert server.wait(timeout=20) in (0, -signal.SIGTERM)
    finally:
        if server.poll() is None:
            server.kill()
    output = server.stdout.read() if server.stdout else ""
    assert "Application shutdown complete" in output
    assert "Traceback" not in output


def test_worker_once_delivers_queued_mail(tmp_path: Path) -> None:
    import sqlite3

    from support import SMTPServer

    assert run_cli("migrate", tmp_path=tmp_path).returncode == 0
    with sqlite3.connect(tmp_path / "cli.sqlite3") as conn:
        conn.execute(
            "INSERT INTO outbox_message (created_at, to_address, subject, body_text, body_html,"
            " message_id, status, attempts, next_attempt_at, claimed_by, last_error) VALUES"
            " ('2026-01-01 00:00:00+00:00', 'o@example.org', 'Hi', 'text', '<p>html</p>',"
            " '<1@exchange.test>', 'pending', 0, '2026-01-01 00:00:00+00:00', '', '')"
        )
    smtp = SMTPServer()
    smtp.start()
    try:
        mail_env = {"EXCHANGE_SMTP_HOST": "127.0.0.1", "EXCHANGE_SMTP_PORT": str(smtp.port)}
        sent = run_cli("worker", "--once", tmp_path=tmp_path, **mail_env)
        assert sent.returncode == 0, sent.stderr
        assert "Sent 1 message(s)." in sent.stdout
        again = run_cli("worker", "--once", tmp_path=tmp_path, **mail_env)
        assert "Sent 0 message(s)." in again.stdout
    finally:
        smtp.stop()
    assert [m["Message-ID"] for m in smtp.box.messages] == ["<1@exchange.test>"]


def test_demo_loads_demo_users_and_prints_their_sign_in(tmp_path: Path) -> None:
    result = run_cli("demo", "--no-serve", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    for email in ("admin@example.org", "staff@example.org", "official@example.org"):
        assert email in result.stdout
    again = run_cli("demo", "--no-serve", tmp_path=tmp_path)
    assert again.returncode == 0, again.stderr


def test_demo_refuses_production(tmp_path: Path) -> None:
    result = run_cli(
        "demo",
        "--no-serve",
        tmp_path=tmp_path,
        EXCHANGE_ENV="production",
        EXCHANGE_SECRET_KEY="k" * 40,
    )
    assert_one_line_error(result, "`exchange demo` is for development")


@pytest.mark.parametrize(
    "command",
    [
        [
            "create-user",
            "--email",
            "a@example.org",
            "--role",
            "admin",
            "--name",
            "A",
            "--password-stdin",
        ],
        ["worker", "--once"],
        ["match", "--city", "lviv-ua", "--challenge", "mental-health-trauma", "--text", "x"],
        ["export"],
    ],
)
def test_commands_refuse_an_unmigrated_database(command: list[str], tmp_path: Path) -> None:
    result = run_cli(*command, tmp_path=tmp_path, stdin="a long enough password\n")
    assert_one_line_error(result, "run `exchange migrate`")


def test_serve_warns_when_the_base_url_names_another_local_port() -> None:
    warning = cli.base_url_port_warning("http://localhost:8000", 8712)
    assert "EXCHANGE_BASE_URL is http://localhost:8000 (port 8000)" in warning
    assert "serves port 8712" in warning and "http://localhost:8712" in warning
    assert cli.base_url_port_warning("http://127.0.0.1:8712", 8712) == ""
    assert cli.base_url_port_warning("http://localhost", 80) == ""
    # A public address is a proxy in front: its port says nothing of the one behind it.
    assert cli.base_url_port_warning("https://exchange.example.org", 8000) == ""

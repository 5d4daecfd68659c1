"""Typed settings read once from environment variables, with development defaults."""

from __future__ import annotations

import contextlib
import ipaddress
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

DEFAULT_DATABASE_URL = "sqlite://var/exchange.sqlite3"
ENVIRONMENTS = ("development", "production")
# Hosts a developer's browser uses; accepted in development only.
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
LOG_FORMATS = ("text", "json")


class SettingsError(ValueError):
    """A setting is missing or malformed; the message is one line for the operator."""


@dataclass(frozen=True)
class Settings:
    env: str = "development"
    database_url: str = DEFAULT_DATABASE_URL
    secret_key: str = ""
    base_url: str = "http://127.0.0.1:8000"
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    smtp_timeout: float = 10.0
    mail_from: str = "Exchange <no-reply@exchange.invalid>"
    mail_max_attempts: int = 8
    mail_dir: Path = Path("var/mail")
    run_mail_sender: bool = True
    session_idle_minutes: int = 30
    session_absolute_hours: int = 12
    var_dir: Path = Path("var")
    # A peer invitation not answered within this many days expires.
    invitation_expiry_days: int = 14
    # Host names accepted in the Host header besides base_url's (EXCHANGE_ALLOWED_HOSTS).
    allowed_hosts: tuple[str, ...] = ()
    # How long one database statement may run: for a web request, and for background
    # work (import, export, `exchange worker`). 0 means no limit.
    statement_timeout_ms: int = 5000
    background_statement_timeout_ms: int = 60000
    # Expensive requests (search, matching, exports) each worker runs at once, per kind;
    # beyond it the app answers 503 at once.
    expensive_concurrency: int = 4
    # A sender's claim on a message lasts this long unless renewed; a dead sender's
    # message returns to the queue once it lapses.
    mail_lease_seconds: int = 60
    log_format: str = "text"

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def trusted_hosts(self) -> frozenset[str]:
        """Host names a request may name: base_url's, the configured ones, and loopback
        in development."""
        hosts = {urlsplit(self.base_url).hostname or "", *self.allowed_hosts}
        if not self.is_production:
            hosts |= LOOPBACK_HOSTS
        return frozenset(host for host in hosts if host)


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build settings from the environment; raise SettingsError with one clear line."""
    env = os.environ if environ is None else environ
    app_env = env.get("EXCHANGE_ENV", "development").strip().lower()
    if app_env not in ENVIRONMENTS:
        raise SettingsError(
            f"EXCHANGE_ENV must be one of {', '.join(ENVIRONMENTS)}, not {app_env!r}"
        )
    var_dir = Path(env.get("EXCHANGE_VAR_DIR", "var"))
    database_url = env.get("EXCHANGE_DATABASE_URL", DEFAULT_DATABASE_URL).strip()
    check_database_url(database_url)
    base_url = env.get("EXCHANGE_BASE_URL", "http://127.0.0.1:8000").strip().rstrip("/")
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SettingsError(f"EXCHANGE_BASE_URL must be an absolute http(s) URL, not {base_url!r}")
    secret_key = env.get("EXCHANGE_SECRET_KEY", "")
    if not secret_key:
        if app_env == "production":
            raise SettingsError("EXCHANGE_SECRET_KEY must be set in production")
        secret_key = development_secret_key(var_dir)
    elif len(secret_key) < 32:
        raise SettingsError("EXCHANGE_SECRET_KEY must be at least 32 characters long")
    return Settings(
        env=app_env,
        database_url=database_url,
        secret_key=secret_key,
        base_url=base_url,
        smtp_host=env.get("EXCHANGE_SMTP_HOST", "").strip(),
        smtp_port=_int(env, "EXCHANGE_SMTP_PORT", 25),
        smtp_username=env.get("EXCHANGE_SMTP_USERNAME", ""),
        smtp_password=env.get("EXCHANGE_SMTP_PASSWORD", ""),
        smtp_starttls=_bool(env, "EXCHANGE_SMTP_STARTTLS", False),
        mail_from=env.get("EXCHANGE_MAIL_FROM", Settings.mail_from),
        mail_max_attempts=_int(env, "EXCHANGE_MAIL_MAX_ATTEMPTS", 8),
        mail_dir=var_dir / "mail",
        session_idle_minutes=_int(env, "EXCHANGE_SESSION_IDLE_MINUTES", 30),
        var_dir=var_dir,
        invitation_expiry_days=_positive(env, "EXCHANGE_INVITATION_EXPIRY_DAYS", 14),
        allowed_hosts=_hosts(env, "EXCHANGE_ALLOWED_HOSTS"),
        statement_timeout_ms=_int(env, "EXCHANGE_STATEMENT_TIMEOUT_MS", 5000),
        background_statement_timeout_ms=_int(
            env, "EXCHANGE_BACKGROUND_STATEMENT_TIMEOUT_MS", 60000
        ),
        expensive_concurrency=_positive(env, "EXCHANGE_EXPENSIVE_CONCURRENCY", 4),
        mail_lease_seconds=_at_least(env, "EXCHANGE_MAIL_LEASE_SECONDS", 60, 2),
        log_format=_choice(env, "EXCHANGE_LOG_FORMAT", "text", LOG_FORMATS),
    )


def check_database_url(url: str) -> None:
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if scheme not in ("sqlite", "postgres", "postgresql", "asyncpg"):
        raise SettingsError(
            f"EXCHANGE_DATABASE_URL must start with sqlite:// or postgres://, not {url!r}"
        )


def development_secret_key(var_dir: Path) -> str:
    """Generate a key once and keep it under var/, so sessions survive restarts."""
    path = var_dir / "secret_key"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key, encoding="utf-8")
    path.chmod(0o600)
    return key


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, not {raw!r}") from None
    if value < 0:
        raise SettingsError(f"{name} must not be negative")
    return value


def _positive(env: Mapping[str, str], name: str, default: int) -> int:
    value = _int(env, name, default)
    if value < 1:
        raise SettingsError(f"{name} must be at least 1")
    return value


HOST_NAME_RE = re.compile(
    r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$"
)


def host_name(text: str) -> str | None:
    """A host name or IP address in canonical form (lower case, IPv6 without brackets)."""
    text = text.strip().lower()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    with contextlib.suppress(ValueError):
        return str(ipaddress.ip_address(text))
    return text if HOST_NAME_RE.match(text) else None


def _hosts(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """Comma-separated host names or addresses, without scheme or port."""
    hosts: list[str] = []
    for item in env.get(name, "").split(","):
        if not item.strip():
            continue
        host = host_name(item)
        if host is None:
            raise SettingsError(
                f"{name} must list host names such as app.example.org, not {item.strip()!r}"
            )
        hosts.append(host)
    return tuple(hosts)


def _at_least(env: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    value = _int(env, name, default)
    if value < minimum:
        raise SettingsError(f"{name} must be at least {minimum}")
    return value


def _choice(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    value = env.get(name, "").strip().lower() or default
    if value not in choices:
        raise SettingsError(f"{name} must be one of {', '.join(choices)}, not {value!r}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name} must be true or false, not {raw!r}")

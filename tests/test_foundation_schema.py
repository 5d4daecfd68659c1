"""The migrations and the models describe the same schema, on both databases."""

from __future__ import annotations

import pytest
from tortoise import Tortoise
from tortoise.migrations.autodetector import MigrationAutodetector

from exchange import db
from exchange.settings import SettingsError, load_settings


async def database_columns(table: str) -> set[str]:
    conn = db.connection()
    if db.dialect() == "postgres":
        rows = await conn.execute_query_dict(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND table_name = $1",
            [table],
        )
        return {row["column_name"] for row in rows}
    rows = await conn.execute_query_dict(f'PRAGMA table_info("{table}")')
    return {row["name"] for row in rows}


async def test_migrations_leave_nothing_for_makemigrations(database: str) -> None:
    apps_config = db.apps_config()
    assert Tortoise.apps is not None
    writers = await MigrationAutodetector(Tortoise.apps, apps_config).changes()
    pending = [op for writer in writers for op in writer.operations]
    assert pending == [], f"models changed without a migration: {pending}"


async def test_every_model_table_has_exactly_the_model_columns(database: str) -> None:
    assert Tortoise.apps is not None
    models = Tortoise.apps[db.APP_LABEL].values()
    assert models
    for model in models:
        expected = set(model._meta.fields_db_projection.values())
        assert await database_columns(model._meta.db_table) == expected, model.__name__


def test_settings_defaults_are_for_development(tmp_path: object) -> None:
    settings = load_settings({"EXCHANGE_VAR_DIR": str(tmp_path)})
    assert settings.env == "development"
    assert settings.database_url == "sqlite://var/exchange.sqlite3"
    assert len(settings.secret_key) >= 32
    # The generated key is kept, so a restart does not sign everyone out.
    assert load_settings({"EXCHANGE_VAR_DIR": str(tmp_path)}).secret_key == settings.secret_key


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"EXCHANGE_ENV": "production"}, "EXCHANGE_SECRET_KEY must be set in production"),
        ({"EXCHANGE_ENV": "staging"}, "EXCHANGE_ENV must be one of"),
        ({"EXCHANGE_SECRET_KEY": "short"}, "at least 32 characters"),
        ({"EXCHANGE_BASE_URL": "exchange.example.org"}, "EXCHANGE_BASE_URL must be an absolute"),
        ({"EXCHANGE_DATABASE_URL": "oracle://x"}, "EXCHANGE_DATABASE_URL must start with"),
        ({"EXCHANGE_SMTP_PORT": "twenty-five"}, "EXCHANGE_SMTP_PORT must be a whole number"),
        ({"EXCHANGE_SMTP_STARTTLS": "maybe"}, "EXCHANGE_SMTP_STARTTLS must be true or false"),
    ],
)
def test_settings_refuse_bad_values(
    environ: dict[str, str], message: str, tmp_path: object
) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings({"EXCHANGE_VAR_DIR": str(tmp_path), **environ})


def test_production_settings_read_every_variable() -> None:
    settings = load_settings(
        {
            "EXCHANGE_ENV": "production",
            "EXCHANGE_SECRET_KEY": "x" * 40,
            "EXCHANGE_DATABASE_URL": "postgres://app@db.internal/exchange",
            "EXCHANGE_BASE_URL": "https://exchange.example.org/",
            "EXCHANGE_SMTP_HOST": "smtp.example.org",
            "EXCHANGE_SMTP_PORT": "587",
            "EXCHANGE_SMTP_USERNAME": "mailer",
            "EXCHANGE_SMTP_PASSWORD": "pw",
            "EXCHANGE_SMTP_STARTTLS": "true",
            "EXCHANGE_MAIL_FROM": "Exchange <hello@example.org>",
        }
    )
    assert settings.base_url == "https://exchange.example.org"
    assert (settings.smtp_host, settings.smtp_port) == ("smtp.example.org", 587)
    assert (settings.smtp_username, settings.smtp_password) == ("mailer", "pw")
    assert settings.smtp_starttls is True
    assert settings.mail_from == "Exchange <hello@example.org>"
    assert settings.is_production and not settings.is_sqlite


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout() -> None:
    credentials = db.tortoise_config("sqlite://var/x.sqlite3")["connections"]["default"][
        "credentials"
    ]
    assert credentials["journal_mode"] == "WAL"
    assert credentials["busy_timeout"] == db.SQLITE_BUSY_TIMEOUT_MS
    assert credentials["file_path"] == "var/x.sqlite3"

"""Seed the two one-row version stamps.

`bump()` creates a missing row itself, but two first writers racing to create it would
collide on the primary key; with the rows in place from the start, every bump is a plain
UPDATE.
"""

from datetime import UTC, datetime

from tortoise import migrations
from tortoise.migrations import operations as ops


async def seed_version_rows(apps, schema_editor) -> None:
    client = schema_editor.client
    sqlite = client.capabilities.dialect == "sqlite"
    now = datetime.now(UTC)
    statements = [
        ("INSERT INTO catalogue_version (id, version, updated_at) VALUES (1, 0, {0}) "
         "ON CONFLICT (id) DO NOTHING", [now.isoformat(sep=" ") if sqlite else now]),
        ("INSERT INTO availability_version (id, version) VALUES (1, 0) "
         "ON CONFLICT (id) DO NOTHING", []),
    ]
    for sql, params in statements:
        await client.execute_query(sql.format("?" if sqlite else "$1"), params)


class Migration(migrations.Migration):
    dependencies = [("exchange", "0003_matching")]

    operations = [ops.RunPython(seed_version_rows, ops.RunPython.noop)]

"""Full-text search over practices, and the shipped challenge taxonomy.

SQLite gets an FTS5 index (porter stemming) kept in step with `practice` by triggers.
PostgreSQL gets a GIN index on the English `tsvector` of the title and summary; the
expression must stay identical to the one in `exchange/services/search.py`.

Trigger bodies contain semicolons, and tortoise's SQLite runner splits RunSQL on ";",
so the statements run one by one from RunPython.
"""

import json

from tortoise import migrations
from tortoise.migrations import operations as ops

from exchange.resources import resource_path

TAXONOMY_FILE = resource_path("data/taxonomy.json")

SQLITE_FORWARD = [
    "CREATE VIRTUAL TABLE practice_search USING fts5("
    "title, summary, content='practice', content_rowid='id', "
    "tokenize='porter unicode61 remove_diacritics 2')",
    "CREATE TRIGGER practice_search_insert AFTER INSERT ON practice BEGIN "
    "INSERT INTO practice_search(rowid, title, summary) VALUES (new.id, new.title, new.summary); "
    "END",
    "CREATE TRIGGER practice_search_delete AFTER DELETE ON practice BEGIN "
    "INSERT INTO practice_search(practice_search, rowid, title, summary) "
    "VALUES ('delete', old.id, old.title, old.summary); "
    "END",
    "CREATE TRIGGER practice_search_update AFTER UPDATE OF title, summary ON practice BEGIN "
    "INSERT INTO practice_search(practice_search, rowid, title, summary) "
    "VALUES ('delete', old.id, old.title, old.summary); "
    "INSERT INTO practice_search(rowid, title, summary) VALUES (new.id, new.title, new.summary); "
    "END",
    "INSERT INTO practice_search(practice_search) VALUES ('rebuild')",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS practice_search_update",
    "DROP TRIGGER IF EXISTS practice_search_delete",
    "DROP TRIGGER IF EXISTS practice_search_insert",
    "DROP TABLE IF EXISTS practice_search",
]
POSTGRES_FORWARD = [
    "CREATE INDEX practice_search_idx ON practice USING GIN (("
    "setweight(to_tsvector('english'::regconfig, coalesce(title, '')), 'A') || "
    "setweight(to_tsvector('english'::regconfig, coalesce(summary, '')), 'B')))",
]
POSTGRES_BACKWARD = ["DROP INDEX IF EXISTS practice_search_idx"]


async def _run(schema_editor, statements) -> None:
    for statement in statements:
        await schema_editor.client.execute_query(statement)


def _is_sqlite(schema_editor) -> bool:
    return schema_editor.client.capabilities.dialect == "sqlite"


async def create_search(apps, schema_editor) -> None:
    await _run(schema_editor, SQLITE_FORWARD if _is_sqlite(schema_editor) else POSTGRES_FORWARD)


async def drop_search(apps, schema_editor) -> None:
    await _run(schema_editor, SQLITE_BACKWARD if _is_sqlite(schema_editor) else POSTGRES_BACKWARD)


async def load_taxonomy(apps, schema_editor) -> None:
    """Insert the shipped terms that are missing; terms staff already edited stay as they are."""
    client = schema_editor.client
    marks = ["?"] * 5 if _is_sqlite(schema_editor) else [f"${n}" for n in range(1, 6)]
    insert = (
        "INSERT INTO challenge (slug, name, description, related, position) "
        f"VALUES ({', '.join(marks)})"
    )
    rows = await client.execute_query_dict("SELECT slug FROM challenge")
    existing = {row["slug"] for row in rows}
    terms = json.loads(TAXONOMY_FILE.read_text(encoding="utf-8"))
    for position, term in enumerate(terms):
        if term["slug"] in existing:
            continue
        related = json.dumps(term.get("related", []), separators=(",", ":"))
        await client.execute_query(
            insert, [term["slug"], term["name"], term["description"], related, position]
        )


class Migration(migrations.Migration):
    """Full-text search over practices and the shipped challenge taxonomy."""

    dependencies = [("exchange", "0001_initial")]

    operations = [
        ops.RunPython(create_search, drop_search),
        ops.RunPython(load_taxonomy, ops.RunPython.noop),
    ]

"""PostgreSQL keeps each practice's and brief's `tsvector` in a table of its own, and
the catalogue version gets a token that names one state of the catalogue (the matching
index snapshots are keyed by it).

Until now the GIN indexes were built on an expression, so every match PostgreSQL tested
or ranked outside the index (a filter, `ts_rank`, a plan led by another index) parsed
the text again: seconds for a common word on a large library. `practice_search` and
`brief_search` hold the vectors (weight A for the title, B for the text), kept in step
by statement-level triggers (one statement per import batch, not one per row), and are
what `exchange/services/search.py` reads; deleting a row deletes its vector.

SQLite already works this way (its FTS5 tables, migration 0002 and 0010): nothing to do.
Statements run one by one from RunPython, as in 0002.
"""

from uuid import uuid4

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


def _vector(row: str, title: str, text: str) -> str:
    """The vector of a row (`row` its alias, "" for bare column names)."""
    of = f"{row}." if row else ""
    return (
        f"setweight(to_tsvector('english'::regconfig, coalesce({of}{title}, '')), 'A') || "
        f"setweight(to_tsvector('english'::regconfig, coalesce({of}{text}, '')), 'B')"
    )


def _forward(table: str, title: str, text: str) -> list[str]:
    side = f"{table}_search"
    return [
        f"CREATE TABLE {side} (id integer PRIMARY KEY REFERENCES {table} (id) "
        "ON DELETE CASCADE, vector tsvector NOT NULL)",
        f"INSERT INTO {side} (id, vector) SELECT t.id, {_vector('t', title, text)} FROM {table} t",
        f"CREATE INDEX {side}_vector_idx ON {side} USING GIN (vector)",
        f"CREATE FUNCTION {side}_added() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"INSERT INTO {side} (id, vector) SELECT n.id, {_vector('n', title, text)} FROM added n; "
        "RETURN NULL; END $$",
        f"CREATE FUNCTION {side}_changed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"UPDATE {side} s SET vector = {_vector('n', title, text)} "
        "FROM changed n JOIN previous o ON o.id = n.id WHERE s.id = n.id AND "
        f"(n.{title} IS DISTINCT FROM o.{title} OR n.{text} IS DISTINCT FROM o.{text}); "
        "RETURN NULL; END $$",
        f"CREATE TRIGGER {side}_added AFTER INSERT ON {table} REFERENCING NEW TABLE AS added "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {side}_added()",
        f"CREATE TRIGGER {side}_changed AFTER UPDATE ON {table} "
        "REFERENCING OLD TABLE AS previous NEW TABLE AS changed "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {side}_changed()",
        f"DROP INDEX IF EXISTS {side}_idx",
    ]


def _backward(table: str, title: str, text: str) -> list[str]:
    side = f"{table}_search"
    return [
        f"CREATE INDEX {side}_idx ON {table} USING GIN (({_vector('', title, text)}))",
        f"DROP TRIGGER IF EXISTS {side}_changed ON {table}",
        f"DROP TRIGGER IF EXISTS {side}_added ON {table}",
        f"DROP FUNCTION IF EXISTS {side}_changed()",
        f"DROP FUNCTION IF EXISTS {side}_added()",
        f"DROP TABLE IF EXISTS {side}",
    ]


POSTGRES_FORWARD = [
    *_forward("practice", "title", "summary"),
    *_forward("brief", "search_title", "search_text"),
]
POSTGRES_BACKWARD = [
    *_backward("brief", "search_title", "search_text"),
    *_backward("practice", "title", "summary"),
]


async def _run(schema_editor, statements) -> None:
    if schema_editor.client.capabilities.dialect == "sqlite":
        return
    for statement in statements:
        await schema_editor.client.execute_query(statement)


async def forward(apps, schema_editor) -> None:
    await _run(schema_editor, POSTGRES_FORWARD)


async def backward(apps, schema_editor) -> None:
    await _run(schema_editor, POSTGRES_BACKWARD)


async def name_the_catalogue(apps, schema_editor) -> None:
    """The catalogue as it stands gets a token of its own."""
    mark = "?" if schema_editor.client.capabilities.dialect == "sqlite" else "$1"
    await schema_editor.client.execute_query(
        f"UPDATE catalogue_version SET token = {mark} WHERE token = ''", [uuid4().hex]
    )


class Migration(migrations.Migration):
    dependencies = [('exchange', '0012_taxonomy_translations_kept_reasons')]

    initial = False

    operations = [
        ops.RunPython(forward, backward),
        ops.AddField(
            model_name='CatalogueVersion',
            name='token',
            field=fields.CharField(max_length=32, default='', db_default=''),
        ),
        ops.RunPython(name_the_catalogue, ops.RunPython.noop),
    ]

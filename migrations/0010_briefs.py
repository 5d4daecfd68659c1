"""Findings and briefs, and full-text search over published briefs.

SQLite gets an FTS5 index on `brief.search_title` and `brief.search_text` kept in step
by triggers; PostgreSQL a GIN index on their English `tsvector`, whose expression must
stay identical to `BRIEF_VECTOR` in exchange/services/search.py. As in 0002, trigger
bodies hold semicolons, so the statements run one by one from RunPython.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from exchange.models.briefs import Attribution, BriefStatus, BriefVisibility
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields

SQLITE_FORWARD = [
    "CREATE VIRTUAL TABLE brief_search USING fts5("
    "search_title, search_text, content='brief', content_rowid='id', "
    "tokenize='porter unicode61 remove_diacritics 2')",
    "CREATE TRIGGER brief_search_insert AFTER INSERT ON brief BEGIN "
    "INSERT INTO brief_search(rowid, search_title, search_text) "
    "VALUES (new.id, new.search_title, new.search_text); "
    "END",
    "CREATE TRIGGER brief_search_delete AFTER DELETE ON brief BEGIN "
    "INSERT INTO brief_search(brief_search, rowid, search_title, search_text) "
    "VALUES ('delete', old.id, old.search_title, old.search_text); "
    "END",
    "CREATE TRIGGER brief_search_update AFTER UPDATE OF search_title, search_text ON brief "
    "BEGIN "
    "INSERT INTO brief_search(brief_search, rowid, search_title, search_text) "
    "VALUES ('delete', old.id, old.search_title, old.search_text); "
    "INSERT INTO brief_search(rowid, search_title, search_text) "
    "VALUES (new.id, new.search_title, new.search_text); "
    "END",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS brief_search_update",
    "DROP TRIGGER IF EXISTS brief_search_delete",
    "DROP TRIGGER IF EXISTS brief_search_insert",
    "DROP TABLE IF EXISTS brief_search",
]
POSTGRES_FORWARD = [
    "CREATE INDEX brief_search_idx ON brief USING GIN (("
    "setweight(to_tsvector('english'::regconfig, coalesce(search_title, '')), 'A') || "
    "setweight(to_tsvector('english'::regconfig, coalesce(search_text, '')), 'B')))",
]
POSTGRES_BACKWARD = ["DROP INDEX IF EXISTS brief_search_idx"]


def _is_sqlite(schema_editor) -> bool:
    return schema_editor.client.capabilities.dialect == "sqlite"


async def _run(schema_editor, statements) -> None:
    for statement in statements:
        await schema_editor.client.execute_query(statement)


async def create_search(apps, schema_editor) -> None:
    await _run(schema_editor, SQLITE_FORWARD if _is_sqlite(schema_editor) else POSTGRES_FORWARD)


async def drop_search(apps, schema_editor) -> None:
    await _run(schema_editor, SQLITE_BACKWARD if _is_sqlite(schema_editor) else POSTGRES_BACKWARD)


class Migration(migrations.Migration):
    dependencies = [('exchange', '0006_dialogues')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Brief',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('title', fields.CharField(max_length=200)),
                ('summary', fields.TextField(default='', unique=False)),
                ('recommendations', fields.TextField(default='', unique=False)),
                ('disclaimer', fields.TextField(default='', unique=False)),
                ('visibility', fields.CharEnumField(default=BriefVisibility.MEMBERS, db_index=True, description='PUBLIC: public\nMEMBERS: members\nPARTICIPANTS: participants', enum_type=BriefVisibility, max_length=16)),
                ('status', fields.CharEnumField(default=BriefStatus.DRAFT, description='DRAFT: draft\nIN_REVIEW: in-review\nPUBLISHED: published', enum_type=BriefStatus, max_length=16)),
                ('author', fields.ForeignKeyField('exchange.User', source_field='author_id', null=True, db_constraint=True, to_field='id', related_name='briefs', on_delete=OnDelete.SET_NULL)),
                ('latest_version', fields.IntField(default=0, db_index=True)),
                ('published_at', fields.DatetimeField(null=True, db_index=True, auto_now=False, auto_now_add=False)),
                ('search_title', fields.TextField(default='', unique=False)),
                ('search_text', fields.TextField(default='', unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'brief', 'app': 'exchange', 'pk_attr': 'id', 'table_description': 'A set of findings with a summary and recommendations, published in versions.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='BriefChallenge',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('brief', fields.ForeignKeyField('exchange.Brief', source_field='brief_id', db_constraint=True, to_field='id', related_name='challenge_links', on_delete=OnDelete.CASCADE)),
                ('challenge', fields.ForeignKeyField('exchange.Challenge', source_field='challenge_id', db_constraint=True, to_field='id', related_name='brief_links', on_delete=OnDelete.CASCADE)),
            ],
            options={'table': 'brief_challenge', 'app': 'exchange', 'unique_together': (('brief', 'challenge'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='BriefCity',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('brief', fields.ForeignKeyField('exchange.Brief', source_field='brief_id', db_constraint=True, to_field='id', related_name='city_links', on_delete=OnDelete.CASCADE)),
                ('city', fields.ForeignKeyField('exchange.City', source_field='city_id', db_constraint=True, to_field='id', related_name='brief_links', on_delete=OnDelete.CASCADE)),
            ],
            options={'table': 'brief_city', 'app': 'exchange', 'unique_together': (('brief', 'city'),), 'pk_attr': 'id', 'table_description': 'A city an attributed finding of the published brief names (the library filter).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='BriefDialogue',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('brief', fields.ForeignKeyField('exchange.Brief', source_field='brief_id', db_constraint=True, to_field='id', related_name='dialogue_links', on_delete=OnDelete.CASCADE)),
                ('dialogue', fields.ForeignKeyField('exchange.Dialogue', source_field='dialogue_id', db_constraint=True, to_field='id', related_name='brief_links', on_delete=OnDelete.CASCADE)),
            ],
            options={'table': 'brief_dialogue', 'app': 'exchange', 'unique_together': (('brief', 'dialogue'),), 'pk_attr': 'id', 'table_description': 'The dialogues a published brief draws on: their participants may read it.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='BriefVersion',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('brief', fields.ForeignKeyField('exchange.Brief', source_field='brief_id', db_constraint=True, to_field='id', related_name='versions', on_delete=OnDelete.CASCADE)),
                ('number', fields.IntField()),
                ('title', fields.CharField(max_length=200)),
                ('summary', fields.TextField(default='', unique=False)),
                ('recommendations', fields.TextField(default='', unique=False)),
                ('disclaimer', fields.TextField(default='', unique=False)),
                ('visibility', fields.CharEnumField(description='PUBLIC: public\nMEMBERS: members\nPARTICIPANTS: participants', enum_type=BriefVisibility, max_length=16)),
                ('findings', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('challenges', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('published_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'brief_version', 'app': 'exchange', 'unique_together': (('brief', 'number'),), 'pk_attr': 'id', 'table_description': 'A published version: a frozen copy of everything readers see. Never changed.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Consent',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('dialogue', fields.ForeignKeyField('exchange.Dialogue', source_field='dialogue_id', db_constraint=True, to_field='id', related_name='consents', on_delete=OnDelete.CASCADE)),
                ('city', fields.ForeignKeyField('exchange.City', source_field='city_id', db_constraint=True, to_field='id', related_name='consents', on_delete=OnDelete.CASCADE)),
                ('given_by', fields.ForeignKeyField('exchange.User', source_field='given_by_id', null=True, db_constraint=True, to_field='id', related_name='consents', on_delete=OnDelete.SET_NULL)),
                ('given_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'dialogue_consent', 'app': 'exchange', 'unique_together': (('dialogue', 'city'),), 'pk_attr': 'id', 'table_description': "A city's consent to be named in a dialogue's findings, revocable until published."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Finding',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('dialogue', fields.ForeignKeyField('exchange.Dialogue', source_field='dialogue_id', db_constraint=True, to_field='id', related_name='findings', on_delete=OnDelete.CASCADE)),
                ('title', fields.CharField(max_length=200)),
                ('body', fields.TextField(default='', unique=False)),
                ('attribution', fields.CharEnumField(default=Attribution.NON_ATTRIBUTED, description='ATTRIBUTED: attributed\nNON_ATTRIBUTED: non-attributed', enum_type=Attribution, max_length=16)),
                ('confirmed_words', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'finding', 'app': 'exchange', 'pk_attr': 'id', 'table_description': 'One lesson from a dialogue.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='BriefFinding',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('brief', fields.ForeignKeyField('exchange.Brief', source_field='brief_id', db_constraint=True, to_field='id', related_name='finding_links', on_delete=OnDelete.CASCADE)),
                ('finding', fields.ForeignKeyField('exchange.Finding', source_field='finding_id', db_constraint=True, to_field='id', related_name='brief_links', on_delete=OnDelete.CASCADE)),
                ('position', fields.SmallIntField(default=0)),
            ],
            options={'table': 'brief_finding', 'app': 'exchange', 'unique_together': (('brief', 'finding'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='FindingChallenge',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('finding', fields.ForeignKeyField('exchange.Finding', source_field='finding_id', db_constraint=True, to_field='id', related_name='challenge_links', on_delete=OnDelete.CASCADE)),
                ('challenge', fields.ForeignKeyField('exchange.Challenge', source_field='challenge_id', db_constraint=True, to_field='id', related_name='finding_links', on_delete=OnDelete.CASCADE)),
            ],
            options={'table': 'finding_challenge', 'app': 'exchange', 'unique_together': (('finding', 'challenge'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='FindingCity',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('finding', fields.ForeignKeyField('exchange.Finding', source_field='finding_id', db_constraint=True, to_field='id', related_name='city_links', on_delete=OnDelete.CASCADE)),
                ('city', fields.ForeignKeyField('exchange.City', source_field='city_id', db_constraint=True, to_field='id', related_name='finding_links', on_delete=OnDelete.CASCADE)),
            ],
            options={'table': 'finding_city', 'app': 'exchange', 'unique_together': (('finding', 'city'),), 'pk_attr': 'id', 'table_description': 'A city an attributed finding names (never stored for a non-attributed one).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='FindingPractice',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('finding', fields.ForeignKeyField('exchange.Finding', source_field='finding_id', db_constraint=True, to_field='id', related_name='practice_links', on_delete=OnDelete.CASCADE)),
                ('practice', fields.ForeignKeyField('exchange.Practice', source_field='practice_id', db_constraint=True, to_field='id', related_name='finding_links', on_delete=OnDelete.CASCADE)),
            ],
            options={'table': 'finding_practice', 'app': 'exchange', 'unique_together': (('finding', 'practice'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ReviewComment',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('brief', fields.ForeignKeyField('exchange.Brief', source_field='brief_id', db_constraint=True, to_field='id', related_name='comments', on_delete=OnDelete.CASCADE)),
                ('finding', fields.ForeignKeyField('exchange.Finding', source_field='finding_id', null=True, db_constraint=True, to_field='id', related_name='comments', on_delete=OnDelete.CASCADE)),
                ('author', fields.ForeignKeyField('exchange.User', source_field='author_id', null=True, db_constraint=True, to_field='id', related_name='review_comments', on_delete=OnDelete.SET_NULL)),
                ('body', fields.TextField(unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'brief_review_comment', 'app': 'exchange', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Reviewer',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('brief', fields.ForeignKeyField('exchange.Brief', source_field='brief_id', db_constraint=True, to_field='id', related_name='reviewers', on_delete=OnDelete.CASCADE)),
                ('user', fields.ForeignKeyField('exchange.User', source_field='user_id', db_constraint=True, to_field='id', related_name='reviews', on_delete=OnDelete.CASCADE)),
                ('approved_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'brief_reviewer', 'app': 'exchange', 'unique_together': (('brief', 'user'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Invitee',
            name='rapporteur',
            field=fields.BooleanField(default=False, db_default=False),
        ),
        ops.RunPython(create_search, drop_search),
    ]

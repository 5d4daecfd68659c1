"""Sign-in budgets (one row per account or address) and API token expiry.

Tokens made before expiry existed get the default lifetime, counted from their creation,
so none of them lives for ever.
"""

from datetime import datetime, timedelta

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index

DEFAULT_TOKEN_LIFETIME = timedelta(days=90)


async def expire_old_tokens(apps, schema_editor) -> None:
    client = schema_editor.client
    sqlite = client.capabilities.dialect == "sqlite"
    rows = await client.execute_query_dict(
        "SELECT id, created_at FROM personal_access_token WHERE expires_at IS NULL"
    )
    for row in rows:
        created = row["created_at"]
        if isinstance(created, str):
            created = datetime.fromisoformat(created)
        expires = created + DEFAULT_TOKEN_LIFETIME
        await client.execute_query(
            "UPDATE personal_access_token SET expires_at = {0} WHERE id = {1}".format(
                *(("?", "?") if sqlite else ("$1", "$2"))
            ),
            [expires.isoformat(sep=" ") if sqlite else expires, row["id"]],
        )


class Migration(migrations.Migration):
    dependencies = [('exchange', '0010_briefs')]

    initial = False

    operations = [
        ops.CreateModel(
            name='SignInBudget',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('key', fields.CharField(unique=True, max_length=320)),
                ('checks', fields.IntField(default=0)),
                ('last_check_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'sign_in_budget', 'app': 'exchange', 'pk_attr': 'id', 'table_description': 'How many password checks an account or an address has had lately.'},
            bases=['Model'],
        ),
        ops.AlterModelOptions(
            name='LoginAttempt',
            options={'table': 'login_attempt', 'app': 'exchange', 'indexes': [Index(fields=['email', 'created_at']), Index(fields=['ip', 'created_at'])], 'pk_attr': 'id', 'table_description': 'A password-reset request (kind "reset"), counted to throttle them.'},
        ),
        ops.AddField(
            model_name='PersonalAccessToken',
            name='expires_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.RunPython(expire_old_tokens, ops.RunPython.noop),
    ]

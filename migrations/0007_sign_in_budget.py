from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('exchange', '0005_outbox_attachments_peer_exchange')]

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
    ]

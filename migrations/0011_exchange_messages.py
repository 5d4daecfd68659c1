"""Messages between the two cities of an exchange, and each user's exchange preferences."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('exchange', '0008_circles')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ExchangeMessage',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('exchange', fields.ForeignKeyField('exchange.PeerExchange', source_field='exchange_id', db_constraint=True, to_field='id', related_name='messages', on_delete=OnDelete.CASCADE)),
                ('author', fields.ForeignKeyField('exchange.User', source_field='author_id', null=True, db_constraint=True, to_field='id', related_name='exchange_messages', on_delete=OnDelete.SET_NULL)),
                ('city', fields.ForeignKeyField('exchange.City', source_field='city_id', null=True, db_constraint=True, to_field='id', related_name='exchange_messages', on_delete=OnDelete.SET_NULL)),
                ('body', fields.TextField(unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'exchange_message', 'app': 'exchange', 'pk_attr': 'id', 'table_description': "A message on the thread between the two cities of an exchange, in Markdown."},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='User',
            name='email_on_exchange_message',
            field=fields.BooleanField(default=True, db_default=True),
        ),
        ops.AddField(
            model_name='User',
            name='share_email',
            field=fields.BooleanField(default=False, db_default=False),
        ),
    ]

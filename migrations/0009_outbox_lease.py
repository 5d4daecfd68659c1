from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('exchange', '0006_dialogues')]

    initial = False

    operations = [
        ops.AddField(
            model_name='OutboxMessage',
            name='lease_until',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]

from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise import fields


class RenameModelReloadingAll(ops.RenameModel):
    """RenameModel that re-renders every model of the state afterwards.

    The stock operation re-renders only the renamed model, so the cities it points at keep
    the backward relations of the old name and the state refuses to load. The table keeps
    its name (`peer_exchange`), so the database itself does not change.
    """

    def state_forward(self, app_label, state):
        reload_model = state.reload_model
        state.reload_model = lambda label, name: state._reload(set(state.models))
        try:
            super().state_forward(app_label, state)
        finally:
            state.reload_model = reload_model


class Migration(migrations.Migration):
    dependencies = [('exchange', '0004_version_rows')]

    initial = False

    operations = [
        RenameModelReloadingAll(old_name='Exchange', new_name='PeerExchange'),
        ops.AddField(
            model_name='OutboxMessage',
            name='attachments',
            field=fields.JSONField(default=list, null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
    ]

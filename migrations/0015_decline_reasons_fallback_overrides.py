"""Decline reasons as codes, automatic fallback, and the record of ranked places and staff overrides on invitations."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from exchange.models.matching import DeclineReason
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('exchange', '0014_library_indexes')]

    initial = False

    operations = [
        ops.AddField(
            model_name='MatchRequest',
            name='auto_fallback',
            field=fields.BooleanField(default=False, db_default=False),
        ),
        ops.AddField(
            model_name='PeerInvitation',
            name='automatic',
            field=fields.BooleanField(default=False, db_default=False),
        ),
        ops.AddField(
            model_name='PeerInvitation',
            name='decline_reason',
            field=fields.CharEnumField(null=True, description='NO_CAPACITY: no-capacity\nNOT_OUR_EXPERIENCE: not-our-experience\nTIMING: timing\nOTHER: other', enum_type=DeclineReason, max_length=24),
        ),
        ops.AddField(
            model_name='PeerInvitation',
            name='override_reason',
            field=fields.TextField(default='', db_default='', unique=False),
        ),
        ops.AddField(
            model_name='PeerInvitation',
            name='rank',
            field=fields.SmallIntField(null=True),
        ),
    ]

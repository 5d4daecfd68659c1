from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from exchange.models.dialogues import Answer, DialogueFormat, DialogueStatus, DialogueVisibility, Seat, Vote
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('exchange', '0005_outbox_attachments_peer_exchange')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Dialogue',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('title', fields.CharField(max_length=200)),
                ('description', fields.TextField(default='', unique=False)),
                ('format', fields.CharEnumField(default=DialogueFormat.ONLINE, description='ONLINE: online\nIN_PERSON: in-person\nHYBRID: hybrid', enum_type=DialogueFormat, max_length=16)),
                ('host_city', fields.ForeignKeyField('exchange.City', source_field='host_city_id', null=True, db_constraint=True, to_field='id', related_name='hosted_dialogues', on_delete=OnDelete.SET_NULL)),
                ('venue', fields.CharField(default='', max_length=300)),
                ('online_url', fields.CharField(default='', max_length=500)),
                ('starts_at', fields.DatetimeField(null=True, db_index=True, auto_now=False, auto_now_add=False)),
                ('ends_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('timezone', fields.CharField(default='UTC', max_length=64)),
                ('capacity', fields.IntField(null=True)),
                ('seats_taken', fields.IntField(default=0)),
                ('agenda', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('organiser', fields.ForeignKeyField('exchange.User', source_field='organiser_id', null=True, db_constraint=True, to_field='id', related_name='organised_dialogues', on_delete=OnDelete.SET_NULL)),
                ('exchange', fields.ForeignKeyField('exchange.PeerExchange', source_field='exchange_id', null=True, db_constraint=True, to_field='id', related_name='dialogues', on_delete=OnDelete.SET_NULL)),
                ('visibility', fields.CharEnumField(default=DialogueVisibility.INVITED, db_index=True, description='PUBLIC: public\nNETWORK: network\nINVITED: invited', enum_type=DialogueVisibility, max_length=16)),
                ('status', fields.CharEnumField(default=DialogueStatus.DRAFT, db_index=True, description='DRAFT: draft\nSCHEDULED: scheduled\nHELD: held\nCANCELLED: cancelled', enum_type=DialogueStatus, max_length=16)),
                ('uid', fields.CharField(unique=True, max_length=128)),
                ('sequence', fields.IntField(default=0)),
                ('reminder_hours', fields.IntField(default=24)),
                ('poll_open', fields.BooleanField(default=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'dialogue', 'app': 'exchange', 'pk_attr': 'id', 'table_description': 'A session: a two-city call or an event with dozens of cities.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='DialogueChallenge',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('dialogue', fields.ForeignKeyField('exchange.Dialogue', source_field='dialogue_id', db_constraint=True, to_field='id', related_name='challenge_links', on_delete=OnDelete.CASCADE)),
                ('challenge', fields.ForeignKeyField('exchange.Challenge', source_field='challenge_id', db_constraint=True, to_field='id', related_name='dialogue_links', on_delete=OnDelete.CASCADE)),
                ('position', fields.SmallIntField(default=0)),
            ],
            options={'table': 'dialogue_challenge', 'app': 'exchange', 'unique_together': (('dialogue', 'challenge'),), 'pk_attr': 'id', 'table_description': 'A challenge a dialogue is about, in a table so lists can filter on it.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Invitee',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('dialogue', fields.ForeignKeyField('exchange.Dialogue', source_field='dialogue_id', db_constraint=True, to_field='id', related_name='invitees', on_delete=OnDelete.CASCADE)),
                ('user', fields.ForeignKeyField('exchange.User', source_field='user_id', null=True, db_constraint=True, to_field='id', related_name='dialogue_invitations', on_delete=OnDelete.CASCADE)),
                ('email', fields.CharField(max_length=254)),
                ('name', fields.CharField(default='', max_length=120)),
                ('timezone', fields.CharField(default='UTC', max_length=64)),
                ('answer', fields.CharEnumField(default=Answer.NONE, description='NONE: none\nYES: yes\nNO: no\nMAYBE: maybe', enum_type=Answer, max_length=8)),
                ('seat', fields.CharEnumField(default=Seat.INVITED, db_index=True, description='INVITED: invited\nCONFIRMED: confirmed\nWAITING: waiting\nDECLINED: declined\nMAYBE: maybe\nREMOVED: removed', enum_type=Seat, max_length=16)),
                ('answered_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('waiting_since', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('attended', fields.BooleanField(null=True)),
                ('reminded_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'dialogue_invitee', 'app': 'exchange', 'unique_together': (('dialogue', 'email'),), 'pk_attr': 'id', 'table_description': 'A person invited to a dialogue: a user, or a guest known only by email.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SlotOption',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('dialogue', fields.ForeignKeyField('exchange.Dialogue', source_field='dialogue_id', db_constraint=True, to_field='id', related_name='slot_options', on_delete=OnDelete.CASCADE)),
                ('starts_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('ends_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'dialogue_slot_option', 'app': 'exchange', 'pk_attr': 'id', 'table_description': "A candidate time in a dialogue's poll."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PollVote',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('option', fields.ForeignKeyField('exchange.SlotOption', source_field='option_id', db_constraint=True, to_field='id', related_name='votes', on_delete=OnDelete.CASCADE)),
                ('invitee', fields.ForeignKeyField('exchange.Invitee', source_field='invitee_id', db_constraint=True, to_field='id', related_name='votes', on_delete=OnDelete.CASCADE)),
                ('vote', fields.CharEnumField(description='YES: yes\nIF_NEED_BE: if-need-be\nNO: no', enum_type=Vote, max_length=16)),
            ],
            options={'table': 'dialogue_poll_vote', 'app': 'exchange', 'unique_together': (('option', 'invitee'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='User',
            name='calendar_feed_version',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='User',
            name='work_days',
            field=fields.CharField(default='01234', db_default='01234', max_length=7),
        ),
        ops.AddField(
            model_name='User',
            name='work_end',
            field=fields.CharField(default='18:00', db_default='18:00', max_length=5),
        ),
        ops.AddField(
            model_name='User',
            name='work_start',
            field=fields.CharField(default='09:00', db_default='09:00', max_length=5),
        ),
    ]

from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from exchange.models.matching import ExchangeFormat, ExchangeStatus, InvitationStatus, RequestStatus
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('exchange', '0002_library_search')]

    initial = False

    operations = [
        ops.CreateModel(
            name='AvailabilityVersion',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('version', fields.BigIntField(default=0)),
            ],
            options={'table': 'availability_version', 'app': 'exchange', 'pk_attr': 'id', 'table_description': 'One row whose number goes up whenever capacity use or peer history changes.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='MatchRequest',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('city', fields.ForeignKeyField('exchange.City', source_field='city_id', db_constraint=True, to_field='id', related_name='match_requests', on_delete=OnDelete.CASCADE)),
                ('requested_by', fields.ForeignKeyField('exchange.User', source_field='requested_by_id', null=True, db_constraint=True, to_field='id', related_name='match_requests', on_delete=OnDelete.SET_NULL)),
                ('challenges', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('description', fields.TextField(default='', unique=False)),
                ('languages', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('regions', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('format', fields.CharEnumField(default=ExchangeFormat.ONLINE, description='ONLINE: online\nIN_PERSON_VISIT: in-person-visit\nSTUDY_VISIT: study-visit', enum_type=ExchangeFormat, max_length=20)),
                ('time_frame', fields.CharField(default='', max_length=200)),
                ('peers_wanted', fields.SmallIntField(default=1)),
                ('status', fields.CharEnumField(default=RequestStatus.OPEN, db_index=True, description='OPEN: open\nINVITING: inviting\nMATCHED: matched\nCLOSED: closed\nWITHDRAWN: withdrawn', enum_type=RequestStatus, max_length=16)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('closed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'match_request', 'app': 'exchange', 'pk_attr': 'id', 'table_description': "A city's ask for peers that have lived through the same challenge."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Notice',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('exchange.User', source_field='user_id', db_constraint=True, to_field='id', related_name='notices', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharField(max_length=32)),
                ('message', fields.CharField(max_length=255)),
                ('params', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('link', fields.CharField(default='', max_length=255)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('read_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'notice', 'app': 'exchange', 'indexes': [Index(fields=['user_id', 'read_at'])], 'pk_attr': 'id', 'table_description': 'An in-app notice for one user. `message` is an untranslated template.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PeerInvitation',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('request', fields.ForeignKeyField('exchange.MatchRequest', source_field='request_id', db_constraint=True, to_field='id', related_name='invitations', on_delete=OnDelete.CASCADE)),
                ('city', fields.ForeignKeyField('exchange.City', source_field='city_id', db_constraint=True, to_field='id', related_name='peer_invitations', on_delete=OnDelete.CASCADE)),
                ('invited_by', fields.ForeignKeyField('exchange.User', source_field='invited_by_id', null=True, db_constraint=True, to_field='id', related_name='peer_invitations_sent', on_delete=OnDelete.SET_NULL)),
                ('answered_by', fields.ForeignKeyField('exchange.User', source_field='answered_by_id', null=True, db_constraint=True, to_field='id', related_name='peer_invitations_answered', on_delete=OnDelete.SET_NULL)),
                ('status', fields.CharEnumField(default=InvitationStatus.PENDING, db_index=True, description='PENDING: pending\nACCEPTED: accepted\nDECLINED: declined\nEXPIRED: expired\nWITHDRAWN: withdrawn', enum_type=InvitationStatus, max_length=16)),
                ('score', fields.FloatField(null=True)),
                ('reason', fields.TextField(default='', unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('answered_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'peer_invitation', 'app': 'exchange', 'unique_together': (('request', 'city'),), 'pk_attr': 'id', 'table_description': 'A candidate city asked to help with a match request.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Exchange',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('request', fields.ForeignKeyField('exchange.MatchRequest', source_field='request_id', db_constraint=True, to_field='id', related_name='exchanges', on_delete=OnDelete.CASCADE)),
                ('invitation', fields.OneToOneField('exchange.PeerInvitation', source_field='invitation_id', null=True, db_constraint=True, to_field='id', related_name='exchange', on_delete=OnDelete.SET_NULL)),
                ('mentor', fields.ForeignKeyField('exchange.City', source_field='mentor_id', db_constraint=True, to_field='id', related_name='exchanges_as_mentor', on_delete=OnDelete.CASCADE)),
                ('mentee', fields.ForeignKeyField('exchange.City', source_field='mentee_id', db_constraint=True, to_field='id', related_name='exchanges_as_mentee', on_delete=OnDelete.CASCADE)),
                ('status', fields.CharEnumField(default=ExchangeStatus.ACTIVE, db_index=True, description='ACTIVE: active\nCONCLUDED: concluded', enum_type=ExchangeStatus, max_length=16)),
                ('mentee_rating', fields.SmallIntField(null=True)),
                ('mentee_learned', fields.TextField(default='', unique=False)),
                ('mentor_rating', fields.SmallIntField(null=True)),
                ('mentor_learned', fields.TextField(default='', unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('concluded_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'peer_exchange', 'app': 'exchange', 'pk_attr': 'id', 'table_description': "An accepted pairing. While active it holds one unit of the mentor's capacity."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PersonalAccessToken',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('exchange.User', source_field='user_id', db_constraint=True, to_field='id', related_name='access_tokens', on_delete=OnDelete.CASCADE)),
                ('name', fields.CharField(max_length=100)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('last_used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'personal_access_token', 'app': 'exchange', 'pk_attr': 'id', 'table_description': "A user's token for the JSON API. Only the SHA-256 of the token is stored."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RequestEvent',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('request', fields.ForeignKeyField('exchange.MatchRequest', source_field='request_id', db_constraint=True, to_field='id', related_name='events', on_delete=OnDelete.CASCADE)),
                ('actor', fields.ForeignKeyField('exchange.User', source_field='actor_id', null=True, db_constraint=True, to_field='id', related_name='request_events', on_delete=OnDelete.SET_NULL)),
                ('kind', fields.CharField(max_length=32)),
                ('message', fields.CharField(max_length=255)),
                ('params', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'match_request_event', 'app': 'exchange', 'pk_attr': 'id', 'table_description': "One entry of a match request's timeline. `message` is an untranslated template."},
            bases=['Model'],
        ),
    ]

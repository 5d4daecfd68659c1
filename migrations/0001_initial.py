from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from exchange.models.accounts import Role
from exchange.models.cities import PracticeStatus, Region
from exchange.models.mail import MailStatus
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='CatalogueVersion',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('version', fields.BigIntField(default=0)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'catalogue_version', 'app': 'exchange', 'pk_attr': 'id', 'table_description': 'One row whose number goes up with every change to cities, practices or the taxonomy.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Challenge',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('slug', fields.CharField(unique=True, max_length=64)),
                ('name', fields.CharField(max_length=120)),
                ('description', fields.TextField(default='', unique=False)),
                ('related', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('position', fields.IntField(default=0)),
            ],
            options={'table': 'challenge', 'app': 'exchange', 'pk_attr': 'id', 'table_description': 'A term of the shared challenge taxonomy, such as `post-attack-recovery`.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='City',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('key', fields.CharField(unique=True, max_length=80)),
                ('name', fields.CharField(max_length=120)),
                ('country', fields.CharField(max_length=2)),
                ('region', fields.CharEnumField(description='EUROPE: europe\nNORTH_AMERICA: north-america\nLATIN_AMERICA: latin-america\nAFRICA: africa\nMIDDLE_EAST: middle-east\nASIA: asia\nOCEANIA: oceania', enum_type=Region, max_length=16)),
                ('population', fields.IntField(null=True)),
                ('timezone', fields.CharField(default='UTC', max_length=64)),
                ('mentoring_capacity', fields.IntField(default=0)),
                ('capacity_used', fields.IntField(default=0)),
                ('profile', fields.TextField(default='', unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'city', 'app': 'exchange', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CityLanguage',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('city', fields.ForeignKeyField('exchange.City', source_field='city_id', db_constraint=True, to_field='id', related_name='languages', on_delete=OnDelete.CASCADE)),
                ('code', fields.CharField(db_index=True, max_length=2)),
                ('position', fields.SmallIntField(default=0)),
            ],
            options={'table': 'city_language', 'app': 'exchange', 'unique_together': (('city', 'code'),), 'pk_attr': 'id', 'table_description': 'A working language of a city (ISO 639-1), in a table so lists can filter on it.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='LoginAttempt',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('kind', fields.CharField(default='failure', max_length=8)),
                ('email', fields.CharField(max_length=254)),
                ('ip', fields.CharField(max_length=64)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'login_attempt', 'app': 'exchange', 'indexes': [Index(fields=['email', 'created_at']), Index(fields=['ip', 'created_at'])], 'pk_attr': 'id', 'table_description': 'A failed sign-in, or a lock that too many of them put on an account or address.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='OutboxMessage',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('to_address', fields.CharField(max_length=254)),
                ('subject', fields.CharField(max_length=255)),
                ('body_text', fields.TextField(unique=False)),
                ('body_html', fields.TextField(unique=False)),
                ('message_id', fields.CharField(unique=True, max_length=255)),
                ('status', fields.CharEnumField(default=MailStatus.PENDING, description='PENDING: pending\nSENDING: sending\nSENT: sent\nFAILED: failed', enum_type=MailStatus, max_length=16)),
                ('attempts', fields.IntField(default=0)),
                ('next_attempt_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('claimed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('claimed_by', fields.CharField(default='', max_length=64)),
                ('sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_error', fields.TextField(default='', unique=False)),
            ],
            options={'table': 'outbox_message', 'app': 'exchange', 'indexes': [Index(fields=['status', 'next_attempt_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Practice',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('city', fields.ForeignKeyField('exchange.City', source_field='city_id', db_constraint=True, to_field='id', related_name='practices', on_delete=OnDelete.CASCADE)),
                ('title', fields.CharField(max_length=200)),
                ('summary', fields.TextField(default='', unique=False)),
                ('since', fields.IntField(null=True)),
                ('outcomes', fields.TextField(default='', unique=False)),
                ('links', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('status', fields.CharEnumField(default=PracticeStatus.PUBLISHED, description='DRAFT: draft\nPUBLISHED: published', enum_type=PracticeStatus, max_length=16)),
                ('last_reviewed', fields.DateField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'practice', 'app': 'exchange', 'unique_together': (('city', 'title'),), 'pk_attr': 'id', 'table_description': 'Something a city did about one or more challenges (a "city spotlight").'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PracticeChallenge',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('practice', fields.ForeignKeyField('exchange.Practice', source_field='practice_id', db_constraint=True, to_field='id', related_name='challenge_links', on_delete=OnDelete.CASCADE)),
                ('challenge', fields.ForeignKeyField('exchange.Challenge', source_field='challenge_id', db_constraint=True, to_field='id', related_name='practice_links', on_delete=OnDelete.RESTRICT)),
            ],
            options={'table': 'practice_challenge', 'app': 'exchange', 'unique_together': (('practice', 'challenge'),), 'pk_attr': 'id', 'table_description': 'Tags a practice with a challenge term.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='User',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('email', fields.CharField(unique=True, max_length=254)),
                ('name', fields.CharField(max_length=120)),
                ('role', fields.CharEnumField(default=Role.OFFICIAL, description='OFFICIAL: official\nSTAFF: staff\nADMIN: admin', enum_type=Role, max_length=16)),
                ('city', fields.ForeignKeyField('exchange.City', source_field='city_id', null=True, db_constraint=True, to_field='id', related_name='officials', on_delete=OnDelete.RESTRICT)),
                ('timezone', fields.CharField(default='UTC', max_length=64)),
                ('locale', fields.CharField(default='en', max_length=16)),
                ('is_active', fields.BooleanField(default=True)),
                ('password_hash', fields.CharField(default='', max_length=255)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'user', 'app': 'exchange', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='AuditEvent',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('event', fields.CharField(db_index=True, max_length=48)),
                ('actor', fields.ForeignKeyField('exchange.User', source_field='actor_id', null=True, db_constraint=True, to_field='id', related_name='audit_events', on_delete=OnDelete.SET_NULL)),
                ('subject', fields.ForeignKeyField('exchange.User', source_field='subject_id', null=True, db_constraint=True, to_field='id', related_name='audit_subject_events', on_delete=OnDelete.SET_NULL)),
                ('email', fields.CharField(default='', max_length=254)),
                ('ip', fields.CharField(default='', max_length=64)),
                ('detail', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
            ],
            options={'table': 'audit_event', 'app': 'exchange', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Invitation',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('email', fields.CharField(db_index=True, max_length=254)),
                ('name', fields.CharField(max_length=120)),
                ('role', fields.CharEnumField(description='OFFICIAL: official\nSTAFF: staff\nADMIN: admin', enum_type=Role, max_length=16)),
                ('city', fields.ForeignKeyField('exchange.City', source_field='city_id', null=True, db_constraint=True, to_field='id', related_name='invitations', on_delete=OnDelete.CASCADE)),
                ('invited_by', fields.ForeignKeyField('exchange.User', source_field='invited_by_id', null=True, db_constraint=True, to_field='id', related_name='invitations_sent', on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('accepted_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'invitation', 'app': 'exchange', 'pk_attr': 'id', 'table_description': "A staff member's invitation to join. The emailed token is stored hashed."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PasswordReset',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('user', fields.ForeignKeyField('exchange.User', source_field='user_id', db_constraint=True, to_field='id', related_name='password_resets', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'password_reset', 'app': 'exchange', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='UserSession',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('id_hash', fields.CharField(unique=True, max_length=64)),
                ('user', fields.ForeignKeyField('exchange.User', source_field='user_id', db_constraint=True, to_field='id', related_name='sessions', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('last_seen_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('ip', fields.CharField(default='', max_length=64)),
                ('user_agent', fields.CharField(default='', max_length=255)),
            ],
            options={'table': 'user_session', 'app': 'exchange', 'pk_attr': 'id', 'table_description': 'A signed-in browser. The cookie holds a random id, and only its SHA-256 is stored.'},
            bases=['Model'],
        ),
    ]

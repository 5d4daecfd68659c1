from tortoise import migrations
from tortoise.migrations import operations as ops
from exchange.models.circles import CheckInPeriod, CircleKind, MeetingStatus, MembershipState
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('exchange', '0007_sign_in_budget_token_expiry')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Circle',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=120)),
                ('purpose', fields.TextField(default='', unique=False)),
                ('kind', fields.CharEnumField(default=CircleKind.UNLISTED, description='LISTED: listed\nUNLISTED: unlisted', enum_type=CircleKind, max_length=16)),
                ('cap', fields.IntField(default=12)),
                ('seats_taken', fields.IntField(default=0)),
                ('agreement_text', fields.TextField(default='', unique=False)),
                ('agreement_version', fields.IntField(default=1)),
                ('support_resources', fields.TextField(default='', unique=False)),
                ('timezone', fields.CharField(default='UTC', max_length=64)),
                ('checkin_period', fields.CharEnumField(default=CheckInPeriod.WEEK, description='WEEK: week\nMONTH: month', enum_type=CheckInPeriod, max_length=8)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'circle', 'app': 'exchange', 'pk_attr': 'id', 'table_description': 'A closed peer group. Its creator is not recorded: staff who are not members see'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CircleCheckIn',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('circle', fields.ForeignKeyField('exchange.Circle', source_field='circle_id', db_constraint=True, to_field='id', related_name='checkins', on_delete=OnDelete.CASCADE)),
                ('user', fields.ForeignKeyField('exchange.User', source_field='user_id', db_constraint=True, to_field='id', related_name='circle_checkins', on_delete=OnDelete.CASCADE)),
                ('score', fields.SmallIntField()),
                ('note', fields.TextField(default='', unique=False)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'circle_checkin', 'app': 'exchange', 'pk_attr': 'id', 'table_description': 'How a member is doing, 1 to 5, with a note that only they read.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CircleCheckInSummary',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('circle', fields.ForeignKeyField('exchange.Circle', source_field='circle_id', db_constraint=True, to_field='id', related_name='checkin_summaries', on_delete=OnDelete.CASCADE)),
                ('period', fields.CharField(max_length=16)),
                ('members', fields.IntField()),
                ('mean', fields.FloatField()),
            ],
            options={'table': 'circle_checkin_summary', 'app': 'exchange', 'unique_together': (('circle', 'period'),), 'pk_attr': 'id', 'table_description': "A closed period's summary as first shown, kept so that later deletions never change"},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CircleMeeting',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('circle', fields.ForeignKeyField('exchange.Circle', source_field='circle_id', db_constraint=True, to_field='id', related_name='meetings', on_delete=OnDelete.CASCADE)),
                ('starts_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('ends_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('timezone', fields.CharField(default='UTC', max_length=64)),
                ('online_url', fields.CharField(default='', max_length=500)),
                ('status', fields.CharEnumField(default=MeetingStatus.SCHEDULED, description='SCHEDULED: scheduled\nCANCELLED: cancelled', enum_type=MeetingStatus, max_length=16)),
                ('uid', fields.CharField(unique=True, max_length=128)),
                ('sequence', fields.IntField(default=0)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'circle_meeting', 'app': 'exchange', 'pk_attr': 'id', 'table_description': 'A meeting of a circle, with its own calendar identity (one UID, SEQUENCE up on'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CircleMembership',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('circle', fields.ForeignKeyField('exchange.Circle', source_field='circle_id', db_constraint=True, to_field='id', related_name='memberships', on_delete=OnDelete.CASCADE)),
                ('user', fields.ForeignKeyField('exchange.User', source_field='user_id', db_constraint=True, to_field='id', related_name='circle_memberships', on_delete=OnDelete.CASCADE)),
                ('state', fields.CharEnumField(db_index=True, description='INVITED: invited\nREQUESTED: requested\nACTIVE: active\nLEFT: left\nREMOVED: removed\nDECLINED: declined', enum_type=MembershipState, max_length=16)),
                ('is_facilitator', fields.BooleanField(default=False)),
                ('agreement_version', fields.IntField(default=0)),
                ('agreement_accepted_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('joined_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('ended_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_seen_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('notified_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'circle_membership', 'app': 'exchange', 'unique_together': (('circle', 'user'),), 'pk_attr': 'id', 'table_description': "One person's place in a circle, from invitation or request to leaving."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CircleThread',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('circle', fields.ForeignKeyField('exchange.Circle', source_field='circle_id', db_constraint=True, to_field='id', related_name='threads', on_delete=OnDelete.CASCADE)),
                ('author', fields.ForeignKeyField('exchange.User', source_field='author_id', null=True, db_constraint=True, to_field='id', related_name='circle_threads', on_delete=OnDelete.SET_NULL)),
                ('title', fields.CharField(max_length=200)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('last_post_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'circle_thread', 'app': 'exchange', 'pk_attr': 'id', 'table_description': 'A discussion thread. Its opening words are its first post.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CirclePost',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('thread', fields.ForeignKeyField('exchange.CircleThread', source_field='thread_id', db_constraint=True, to_field='id', related_name='posts', on_delete=OnDelete.CASCADE)),
                ('author', fields.ForeignKeyField('exchange.User', source_field='author_id', db_constraint=True, to_field='id', related_name='circle_posts', on_delete=OnDelete.CASCADE)),
                ('body', fields.TextField(default='', unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('edited_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('deleted_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('hidden_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'circle_post', 'app': 'exchange', 'pk_attr': 'id', 'table_description': 'A post in a thread. Deleting it erases its text, hiding it keeps the text from view.'},
            bases=['Model'],
        ),
    ]

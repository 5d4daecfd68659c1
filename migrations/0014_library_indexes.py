"""Indexes for library pages at network scale: the directory's order, a term's practices."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('exchange', '0013_search_vectors')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='City',
            index=Index(fields=['name', 'id']),
        ),
        ops.AddIndex(
            model_name='PracticeChallenge',
            index=Index(fields=['challenge_id', 'practice_id']),
        ),
    ]

"""The job claim's two reads (branch jobclaim): due jobs of a kind in (next_attempt_at, id) order
(the head), and a kind's waiting jobs in (key, next_attempt_at, id) order (the walk over keys,
also the running jobs per key); they replace (state, next_attempt_at) and (kind, state)."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('jobs', '0002_webhook_calls')]

    initial = False

    operations = [
        ops.RemoveIndex(
            model_name='Job',
            name=None,
            fields=['state', 'next_attempt_at'],
        ),
        ops.RemoveIndex(
            model_name='Job',
            name=None,
            fields=['kind', 'state'],
        ),
        ops.AddIndex(
            model_name='Job',
            index=Index(fields=['kind', 'state', 'next_attempt_at', 'id']),
        ),
        ops.AddIndex(
            model_name='Job',
            index=Index(fields=['kind', 'state', 'key', 'next_attempt_at', 'id']),
        ),
    ]

from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from federation.db.jobs import JobState
from json import dumps, loads
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='Job',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('kind', fields.CharField(max_length=64)),
                ('key', fields.CharField(default='', description='fairness key', max_length=255)),
                ('ref', fields.CharField(null=True, description='subject (one job per kind)', max_length=255)),
                ('state', fields.CharEnumField(default=JobState.PENDING, description='PENDING: pending\nRUNNING: running\nDONE: done\nFAILED: failed\nABANDONED: abandoned', enum_type=JobState, max_length=16)),
                ('attempts', fields.IntField(default=0)),
                ('next_attempt_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('lease_owner', fields.CharField(null=True, max_length=128)),
                ('lease_expires_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_error', fields.CharField(null=True, max_length=500)),
                ('payload', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('finished_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'jobs', 'app': 'jobs', 'unique_together': (('kind', 'ref'),), 'indexes': [Index(fields=['state', 'next_attempt_at']), Index(fields=['state', 'lease_expires_at']), Index(fields=['kind', 'state'])], 'pk_attr': 'id', 'table_description': 'One unit of background work with its schedule, attempts, lease and last error.'},
            bases=['Model'],
        ),
    ]

from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from federation.db.delivery import DeliveryState, FanoutState
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('content', '0001_initial')]

    initial = True

    operations = [
        ops.CreateModel(
            name='FanoutJob',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('activity', fields.ForeignKeyField('content.OutboxActivity', source_field='activity_id', db_constraint=True, to_field='id', related_name='fanouts', on_delete=OnDelete.CASCADE)),
                ('sender', fields.CharField(description='identifier of the local actor', max_length=64)),
                ('audience', fields.JSONField(description='followers_of, actor_uris and inboxes', encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('state', fields.CharEnumField(default=FanoutState.NEW, description='NEW: new\nEXPANDING: expanding\nDONE: done', enum_type=FanoutState, max_length=16)),
                ('lease_owner', fields.CharField(null=True, max_length=128)),
                ('lease_expires_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('inbox_count', fields.IntField(default=0)),
                ('last_error', fields.CharField(null=True, max_length=500)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('done_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'delivery_fanouts', 'app': 'delivery', 'indexes': [Index(fields=['state', 'lease_expires_at'])], 'pk_attr': 'id', 'table_description': 'One sent activity waiting to be split into one delivery per inbox.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='DeliveryJob',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('fanout', fields.ForeignKeyField('delivery.FanoutJob', source_field='fanout_id', db_constraint=True, to_field='id', related_name='deliveries', on_delete=OnDelete.CASCADE)),
                ('activity', fields.ForeignKeyField('content.OutboxActivity', source_field='activity_id', db_constraint=True, to_field='id', related_name='deliveries', on_delete=OnDelete.CASCADE)),
                ('inbox_url', fields.CharField(max_length=2048)),
                ('host', fields.CharField(description='normalised host of the inbox', max_length=255)),
                ('state', fields.CharEnumField(default=DeliveryState.PENDING, description='PENDING: pending\nSENDING: sending\nDELIVERED: delivered\nFAILED: failed\nABANDONED: abandoned', enum_type=DeliveryState, max_length=16)),
                ('attempts', fields.IntField(default=0)),
                ('next_attempt_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('lease_owner', fields.CharField(null=True, max_length=128)),
                ('lease_expires_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_status', fields.IntField(null=True)),
                ('last_error', fields.CharField(null=True, max_length=500)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('finished_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'delivery_jobs', 'app': 'delivery', 'unique_together': (('fanout', 'inbox_url'),), 'indexes': [Index(fields=['state', 'next_attempt_at']), Index(fields=['host', 'state'])], 'pk_attr': 'id', 'table_description': 'One activity to POST to one inbox, with its attempts and lease.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='HostHealth',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('host', fields.CharField(unique=True, max_length=255)),
                ('failure_days', fields.JSONField(default=list, description='ISO dates with a failure', encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('unavailable', fields.BooleanField(default=False, description='set aside: not attempted')),
                ('set_aside_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('set_aside_until', fields.DatetimeField(null=True, description='next probe of a set-aside host', auto_now=False, auto_now_add=False)),
                ('last_error', fields.CharField(null=True, max_length=500)),
                ('last_failure_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_success_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'delivery_host_health', 'app': 'delivery', 'indexes': [Index(fields=['unavailable', 'set_aside_until'])], 'pk_attr': 'id', 'table_description': 'How a remote host has been answering our deliveries.'},
            bases=['Model'],
        ),
    ]

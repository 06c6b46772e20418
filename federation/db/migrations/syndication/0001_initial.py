from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from federation.db.syndication import ItemState
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('social', '0001_initial')]

    initial = True

    operations = [
        ops.CreateModel(
            name='SyndicatedItem',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('source', fields.ForeignKeyField('social.Following', source_field='source_id', db_constraint=True, to_field='id', related_name='syndicated_items', on_delete=OnDelete.CASCADE)),
                ('object_uri', fields.CharField(unique=True, max_length=2048)),
                ('type', fields.CharField(max_length=32)),
                ('actor_uri', fields.CharField(description='the author (attributedTo)', max_length=2048)),
                ('via_uri', fields.CharField(null=True, description='the announcing actor or relay, if any', max_length=2048)),
                ('document', fields.JSONField(default=dict, description='the sanitised object as kept', encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('name', fields.CharField(default='', max_length=500)),
                ('summary', fields.TextField(default='', description='sanitised HTML', unique=False)),
                ('url', fields.CharField(null=True, max_length=2048)),
                ('published_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('start_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('end_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('state', fields.CharEnumField(description='PENDING_REVIEW: pending_review\nAPPROVED: approved\nREJECTED: rejected\nSTORED: stored\nWITHDRAWN: withdrawn', enum_type=ItemState, max_length=16)),
                ('announce_activity_uri', fields.CharField(null=True, max_length=2048)),
                ('received_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('decided_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('decided_by', fields.CharField(default='', max_length=64)),
                ('withdrawn_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'syndicated_items', 'app': 'syndication', 'indexes': [Index(fields=['state', 'id']), Index(fields=['source_id', 'state'])], 'pk_attr': 'id', 'table_description': 'An article, event or note of a followed sister site (content sanitised on intake).'},
            bases=['Model'],
        ),
    ]

from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from federation.db.content import ObjectKind, ObjectState
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('actors', '0001_initial')]

    initial = True

    operations = [
        ops.CreateModel(
            name='ContentObject',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('actor', fields.ForeignKeyField('actors.Actor', source_field='actor_id', db_constraint=True, to_field='id', related_name='objects', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharEnumField(description='ARTICLE: article\nEVENT: event\nNOTE: note', enum_type=ObjectKind, max_length=16)),
                ('source', fields.CharField(description='push, feed, ical, import, system', max_length=32)),
                ('source_id', fields.CharField(description='the id given by the source', max_length=2048)),
                ('uri', fields.CharField(unique=True, max_length=2048)),
                ('url', fields.CharField(null=True, max_length=2048)),
                ('document', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('content_hash', fields.CharField(max_length=64)),
                ('state', fields.CharEnumField(default=ObjectState.PUBLISHED, description='PUBLISHED: published\nDELETED: deleted', enum_type=ObjectState, max_length=16)),
                ('pinned', fields.BooleanField(default=False)),
                ('published_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('deleted_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'content_objects', 'app': 'content', 'unique_together': (('actor', 'source', 'source_id'),), 'indexes': [Index(fields=['actor_id', 'state', 'published_at'])], 'pk_attr': 'id', 'table_description': 'A published object of one of our actors, keyed by where it came from.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='OutboxActivity',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('uri', fields.CharField(unique=True, max_length=2048)),
                ('actor', fields.ForeignKeyField('actors.Actor', source_field='actor_id', db_constraint=True, to_field='id', related_name='activities', on_delete=OnDelete.CASCADE)),
                ('type', fields.CharField(max_length=32)),
                ('object_uri', fields.CharField(null=True, db_index=True, max_length=2048)),
                ('document', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('public', fields.BooleanField(default=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'outbox_activities', 'app': 'content', 'indexes': [Index(fields=['actor_id', 'public', 'id'])], 'pk_attr': 'id', 'table_description': "An activity we sent, served at its id, public ones listed in the actor's outbox."},
            bases=['Model'],
        ),
    ]

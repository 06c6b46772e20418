from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from federation.db.ingest import FeedKind
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('actors', '0001_initial')]

    initial = True

    operations = [
        ops.CreateModel(
            name='ApiToken',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(unique=True, max_length=100)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('prefix', fields.CharField(description='first characters, to recognise it', max_length=16)),
                ('actors', fields.JSONField(default=list, description='identifiers it may publish for, empty for all', encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('last_used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'api_tokens', 'app': 'ingest', 'pk_attr': 'id', 'table_description': 'A bearer token of one CMS client, stored hashed (SHA-256 hex of the secret).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Feed',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('actor', fields.ForeignKeyField('actors.Actor', source_field='actor_id', db_constraint=True, to_field='id', related_name='feeds', on_delete=OnDelete.CASCADE)),
                ('url', fields.CharField(max_length=2048)),
                ('kind', fields.CharEnumField(description='RSS: rss\nATOM: atom\nJSON: json\nICAL: ical', enum_type=FeedKind, max_length=8)),
                ('interval_seconds', fields.IntField(default=900)),
                ('etag', fields.CharField(null=True, max_length=512)),
                ('last_modified', fields.CharField(null=True, max_length=64)),
                ('body_hash', fields.CharField(null=True, max_length=64)),
                ('next_poll_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('failures', fields.IntField(default=0)),
                ('last_error', fields.TextField(default='', unique=False)),
                ('last_polled_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_success_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('primed', fields.BooleanField(default=False, description='its existing entries were recorded')),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'feeds', 'app': 'ingest', 'unique_together': (('actor', 'url'),), 'indexes': [Index(fields=['next_poll_at'])], 'pk_attr': 'id', 'table_description': 'A feed (RSS, Atom, JSON Feed or iCalendar) polled for one actor.'},
            bases=['Model'],
        ),
    ]

from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from federation.db.moderation import WebhookState
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('moderation', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ModeratorSession',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('csrf_token', fields.CharField(max_length=64)),
                ('moderator', fields.ForeignKeyField('moderation.ModeratorAccount', source_field='moderator_id', db_constraint=True, to_field='id', related_name='sessions', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('expires_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'moderator_sessions', 'app': 'moderation', 'pk_attr': 'id', 'table_description': 'A logged-in moderator: the sha-256 of the cookie token, the CSRF token, an expiry.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ModeratorToken',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('name', fields.CharField(default='', max_length=64)),
                ('scopes', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('moderator', fields.ForeignKeyField('moderation.ModeratorAccount', source_field='moderator_id', db_constraint=True, to_field='id', related_name='tokens', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('last_used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'moderator_tokens', 'app': 'moderation', 'pk_attr': 'id', 'table_description': 'An API token of a moderator (only its sha-256 is kept) with its scopes.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ReplyAuthorization',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('token', fields.CharField(unique=True, max_length=64)),
                ('uri', fields.CharField(unique=True, max_length=2048)),
                ('reply', fields.ForeignKeyField('moderation.Reply', source_field='reply_id', null=True, db_constraint=True, to_field='id', related_name='authorizations', on_delete=OnDelete.SET_NULL)),
                ('actor_uri', fields.CharField(max_length=2048)),
                ('interacting_uri', fields.CharField(max_length=2048)),
                ('target_uri', fields.CharField(max_length=2048)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'reply_authorizations', 'app': 'moderation', 'pk_attr': 'id', 'table_description': 'A ReplyAuthorization we issued on approval, served at its id until revoked (then 410).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='WebhookDelivery',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('event', fields.CharField(max_length=64)),
                ('payload', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('state', fields.CharEnumField(default=WebhookState.PENDING, description='PENDING: pending\nSENT: sent\nFAILED: failed', enum_type=WebhookState, max_length=16)),
                ('attempts', fields.IntField(default=0)),
                ('next_attempt_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('leased_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_error', fields.CharField(default='', max_length=255)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('finished_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'webhook_deliveries', 'app': 'moderation', 'indexes': [Index(fields=['state', 'next_attempt_at'])], 'pk_attr': 'id', 'table_description': 'One webhook call to the site for a decision, retried until sent or given up.'},
            bases=['Model'],
        ),
    ]

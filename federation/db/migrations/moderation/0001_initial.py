from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from federation.db.moderation import InteractionKind, ReplyKind, ReplyState
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('actors', '0001_initial'), ('social', '0001_initial'), ('content', '0001_initial')]

    initial = True

    operations = [
        ops.CreateModel(
            name='Decision',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('moderator', fields.CharField(max_length=64)),
                ('action', fields.CharField(max_length=32)),
                ('subject_type', fields.CharField(default='reply', max_length=32)),
                ('subject_uri', fields.CharField(max_length=2048)),
                ('from_state', fields.CharField(null=True, max_length=16)),
                ('to_state', fields.CharField(null=True, max_length=16)),
                ('note', fields.TextField(default='', unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'decisions', 'app': 'moderation', 'indexes': [Index(fields=['subject_uri']), Index(fields=['created_at'])], 'pk_attr': 'id', 'table_description': 'The audit log: who decided what, when (kept when the reply itself is deleted).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Interaction',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('kind', fields.CharEnumField(description='LIKE: like\nANNOUNCE: announce', enum_type=InteractionKind, max_length=16)),
                ('activity_uri', fields.CharField(unique=True, max_length=2048)),
                ('remote', fields.ForeignKeyField('social.RemoteActor', source_field='remote_id', db_constraint=True, to_field='id', related_name='interactions', on_delete=OnDelete.CASCADE)),
                ('object_uri', fields.CharField(db_index=True, max_length=2048)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'interactions', 'app': 'moderation', 'unique_together': (('kind', 'remote', 'object_uri'),), 'pk_attr': 'id', 'table_description': 'A Like or an Announce of one of our objects, counted per object.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ModeratorAccount',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('username', fields.CharField(unique=True, max_length=64)),
                ('password_hash', fields.CharField(max_length=255)),
                ('language', fields.CharField(default='fr', max_length=8)),
                ('is_admin', fields.BooleanField(default=False)),
                ('disabled', fields.BooleanField(default=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'moderator_accounts', 'app': 'moderation', 'pk_attr': 'id', 'table_description': 'A moderator who logs in to the moderation UI (password hashed with argon2id).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Reply',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('uri', fields.CharField(unique=True, max_length=2048)),
                ('kind', fields.CharEnumField(default=ReplyKind.REPLY, description='REPLY: reply\nMENTION: mention\nREPLY_REQUEST: reply_request', enum_type=ReplyKind, max_length=16)),
                ('author', fields.ForeignKeyField('social.RemoteActor', source_field='author_id', db_constraint=True, to_field='id', related_name='replies', on_delete=OnDelete.CASCADE)),
                ('local_actor', fields.ForeignKeyField('actors.Actor', source_field='local_actor_id', null=True, db_constraint=True, to_field='id', related_name='replies', on_delete=OnDelete.CASCADE)),
                ('target', fields.ForeignKeyField('content.ContentObject', source_field='target_id', null=True, db_constraint=True, to_field='id', related_name='replies', on_delete=OnDelete.SET_NULL)),
                ('in_reply_to_uri', fields.CharField(null=True, db_index=True, max_length=2048)),
                ('thread_root_uri', fields.CharField(null=True, db_index=True, max_length=2048)),
                ('request_activity_uri', fields.CharField(null=True, max_length=2048)),
                ('object_type', fields.CharField(default='Note', max_length=32)),
                ('url', fields.CharField(null=True, max_length=2048)),
                ('name', fields.TextField(default='', unique=False)),
                ('summary', fields.TextField(default='', unique=False)),
                ('content_html', fields.TextField(default='', unique=False)),
                ('language', fields.CharField(null=True, max_length=16)),
                ('attachments', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('history', fields.JSONField(default=list, description='earlier versions, oldest first', encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('is_public', fields.BooleanField(default=True)),
                ('state', fields.CharEnumField(default=ReplyState.PENDING, description='PENDING: pending\nAPPROVED: approved\nREJECTED: rejected\nSPAM: spam', enum_type=ReplyState, max_length=16)),
                ('authorization_uri', fields.CharField(null=True, max_length=2048)),
                ('published_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('received_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('edited_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('decided_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'replies', 'app': 'moderation', 'indexes': [Index(fields=['state', 'received_at']), Index(fields=['target_id', 'state'])], 'pk_attr': 'id', 'table_description': 'A fediverse reply (or mention) held for moderation.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Report',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('activity_uri', fields.CharField(unique=True, max_length=2048)),
                ('reporter', fields.ForeignKeyField('social.RemoteActor', source_field='reporter_id', null=True, db_constraint=True, to_field='id', related_name='reports', on_delete=OnDelete.SET_NULL)),
                ('object_uris', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('content', fields.TextField(default='', unique=False)),
                ('resolved', fields.BooleanField(default=False)),
                ('received_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'reports', 'app': 'moderation', 'pk_attr': 'id', 'table_description': 'A Flag received from the fediverse, shown to moderators.'},
            bases=['Model'],
        ),
    ]

from tortoise import migrations
from tortoise.migrations import operations as ops
from federation.db.social import BlockKind, FollowState, SyndicationPolicy
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('actors', '0001_initial')]

    initial = True

    operations = [
        ops.CreateModel(
            name='Block',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('kind', fields.CharEnumField(description='DOMAIN: domain\nACTOR: actor', enum_type=BlockKind, max_length=16)),
                ('value', fields.CharField(max_length=2048)),
                ('reason', fields.TextField(default='', unique=False)),
                ('created_by', fields.CharField(default='', max_length=255)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'blocks', 'app': 'social', 'unique_together': (('kind', 'value'),), 'pk_attr': 'id', 'table_description': 'A domain or an actor blocked by an admin or a moderator (besides the configuration).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RemoteActor',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('uri', fields.CharField(unique=True, max_length=2048)),
                ('domain', fields.CharField(db_index=True, max_length=255)),
                ('inbox', fields.CharField(max_length=2048)),
                ('shared_inbox', fields.CharField(null=True, max_length=2048)),
                ('username', fields.CharField(null=True, max_length=255)),
                ('name', fields.CharField(null=True, max_length=255)),
                ('url', fields.CharField(null=True, max_length=2048)),
                ('type', fields.CharField(default='Person', max_length=32)),
                ('key_id', fields.CharField(null=True, db_index=True, max_length=2048)),
                ('public_key_pem', fields.TextField(null=True, unique=False)),
                ('fetched_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'remote_actors', 'app': 'social', 'pk_attr': 'id', 'table_description': 'A remote actor, as last fetched from its origin (its key is cached here).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Follower',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('actor', fields.ForeignKeyField('actors.Actor', source_field='actor_id', db_constraint=True, to_field='id', related_name='followers', on_delete=OnDelete.CASCADE)),
                ('remote', fields.ForeignKeyField('social.RemoteActor', source_field='remote_id', db_constraint=True, to_field='id', related_name='follows', on_delete=OnDelete.CASCADE)),
                ('state', fields.CharEnumField(default=FollowState.PENDING, description='PENDING: pending\nACCEPTED: accepted\nREJECTED: rejected', enum_type=FollowState, max_length=16)),
                ('follow_activity_uri', fields.CharField(max_length=2048)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('decided_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'followers', 'app': 'social', 'unique_together': (('actor', 'remote'),), 'indexes': [Index(fields=['actor_id', 'state'])], 'pk_attr': 'id', 'table_description': 'A remote actor following one of our actors.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Following',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('actor', fields.ForeignKeyField('actors.Actor', source_field='actor_id', db_constraint=True, to_field='id', related_name='following', on_delete=OnDelete.CASCADE)),
                ('target_uri', fields.CharField(max_length=2048)),
                ('remote', fields.ForeignKeyField('social.RemoteActor', source_field='remote_id', null=True, db_constraint=True, to_field='id', related_name='followed_by_us', on_delete=OnDelete.SET_NULL)),
                ('state', fields.CharEnumField(default=FollowState.PENDING, description='PENDING: pending\nACCEPTED: accepted\nREJECTED: rejected', enum_type=FollowState, max_length=16)),
                ('policy', fields.CharEnumField(default=SyndicationPolicy.REVIEW, description='ANNOUNCE: announce\nREVIEW: review\nSTORE: store', enum_type=SyndicationPolicy, max_length=16)),
                ('is_relay', fields.BooleanField(default=False)),
                ('follow_activity_uri', fields.CharField(unique=True, max_length=2048)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('decided_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'following', 'app': 'social', 'unique_together': (('actor', 'target_uri'),), 'pk_attr': 'id', 'table_description': 'One of our actors following a remote actor (sister sites, relays).'},
            bases=['Model'],
        ),
    ]

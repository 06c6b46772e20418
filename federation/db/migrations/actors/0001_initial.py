from tortoise import migrations
from tortoise.migrations import operations as ops
from federation.db.actors import KeyKind
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='Actor',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('identifier', fields.CharField(unique=True, max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'actors', 'app': 'actors', 'pk_attr': 'id', 'table_description': 'A local actor, known by the stable identifier used in its URLs.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ActorKey',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('actor', fields.ForeignKeyField('actors.Actor', source_field='actor_id', db_constraint=True, to_field='id', related_name='keys', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharEnumField(description='RSA: rsa\nED25519: ed25519', enum_type=KeyKind, max_length=16)),
                ('public_pem', fields.TextField(unique=False)),
                ('private_encrypted', fields.TextField(unique=False)),
                ('active', fields.BooleanField(default=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('retired_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'actor_keys', 'app': 'actors', 'indexes': [Index(fields=['actor_id', 'kind', 'active'])], 'pk_attr': 'id', 'table_description': 'A key pair of a local actor, the private part is encrypted with the data-dir secret.'},
            bases=['Model'],
        ),
    ]

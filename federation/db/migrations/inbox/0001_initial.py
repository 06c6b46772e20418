from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='DeletedObject',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('object_uri', fields.CharField(unique=True, max_length=2048)),
                ('actor_uri', fields.CharField(max_length=2048)),
                ('deleted_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'inbox_deleted_objects', 'app': 'inbox', 'pk_attr': 'id', 'table_description': 'A tombstone: a remote object its author deleted (a later Create of it changes nothing).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ReceivedActivity',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('activity_uri', fields.CharField(unique=True, max_length=2048)),
                ('actor_uri', fields.CharField(max_length=2048)),
                ('type', fields.CharField(max_length=32)),
                ('received_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'inbox_received_activities', 'app': 'inbox', 'pk_attr': 'id', 'table_description': 'An activity id already received from a verified signer (for de-duplication).'},
            bases=['Model'],
        ),
    ]

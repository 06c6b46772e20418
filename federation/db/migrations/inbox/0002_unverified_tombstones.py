from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('inbox', '0001_initial')]

    initial = False

    operations = [
        ops.AddField(
            model_name='DeletedObject',
            name='verified',
            field=fields.BooleanField(default=True, db_default=True, description="the Delete was signed by a key proven to be its actor's"),
        ),
    ]

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('actors', '0001_initial'), ('social', '0001_initial')]

    initial = False

    operations = [
        ops.AddField(
            model_name='RemoteActor',
            name='acct',
            field=fields.CharField(null=True, description="The handle name@host, once both its host and the actor's host confirmed it", max_length=400),
        ),
    ]

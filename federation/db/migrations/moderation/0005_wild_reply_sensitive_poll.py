from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('moderation', '0004_notify_preferences')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Reply',
            name='poll',
            field=fields.JSONField(null=True, description='a Question: mode, options, closes_at', encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
        ops.AddField(
            model_name='Reply',
            name='sensitive',
            field=fields.BooleanField(default=False, db_default=False, description='marked sensitive by its author (content warning)'),
        ),
    ]

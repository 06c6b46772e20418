from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('actors', '0001_initial')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Actor',
            name='avatar_file',
            field=fields.CharField(null=True, description='uploaded avatar under data_dir/media/actors', max_length=80),
        ),
        ops.AddField(
            model_name='Actor',
            name='header_file',
            field=fields.CharField(null=True, description='uploaded header under data_dir/media/actors', max_length=80),
        ),
        ops.AddField(
            model_name='Actor',
            name='profile',
            field=fields.JSONField(null=True, description='the published profile (null until seeded from the file)', encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
        ops.AddField(
            model_name='Actor',
            name='retired_at',
            field=fields.DatetimeField(null=True, description='set once: the actor is gone', auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Actor',
            name='updated_at',
            field=fields.DatetimeField(null=True, auto_now=True, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Actor',
            name='username_key',
            field=fields.CharField(null=True, unique=True, description='the WebFinger username lowercased (unique whatever the case)', max_length=64),
        ),
    ]

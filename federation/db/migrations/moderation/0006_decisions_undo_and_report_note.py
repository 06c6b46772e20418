from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('moderation', '0005_wild_reply_sensitive_poll')]  # its own columns only

    initial = False

    operations = [
        ops.AddField(
            model_name='Decision',
            name='cause_id',
            field=fields.IntField(null=True, db_index=True, description='The decision this one follows from (a block rejecting pending replies)'),
        ),
        ops.AddField(
            model_name='Decision',
            name='subject_name',
            field=fields.CharField(default='', db_default='', description='Who or what it was about, as shown then: a name and handle, a domain', max_length=400),
        ),
        ops.AddField(
            model_name='Decision',
            name='undone_at',
            field=fields.DatetimeField(null=True, description='When an undo reversed it', auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Report',
            name='note',
            field=fields.TextField(default='', db_default='', description="The moderators' note about the report", unique=False),
        ),
    ]

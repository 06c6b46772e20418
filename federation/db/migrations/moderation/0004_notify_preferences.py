from tortoise import migrations
from tortoise.migrations import operations as ops
from federation.db.moderation import NotifyMode
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('moderation', '0003_quote_authorizations')]  # its own columns only

    initial = False

    operations = [
        ops.AddField(
            model_name='ModeratorAccount',
            name='digest_sent_at',
            field=fields.DatetimeField(null=True, description='the end of the period the last daily digest covered', auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='ModeratorAccount',
            name='email',
            field=fields.CharField(default='', db_default='', description='notifications go here', max_length=254),
        ),
        ops.AddField(
            model_name='ModeratorAccount',
            name='notify',
            field=fields.CharEnumField(default=NotifyMode.OFF, db_default='off', description='OFF: off\nIMMEDIATE: immediate\nDIGEST: digest', enum_type=NotifyMode, max_length=16),
        ),
    ]

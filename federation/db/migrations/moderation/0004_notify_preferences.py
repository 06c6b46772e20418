from tortoise import migrations
from tortoise.migrations import operations as ops
from federation.db.moderation import NotifyMode
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('actors', '0001_initial'), ('content', '0002_typed_event_fields'), ('moderation', '0003_quote_authorizations'), ('social', '0002_remote_actor_acct')]

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
            field=fields.CharField(default='', description='notifications go here', max_length=254),
        ),
        ops.AddField(
            model_name='ModeratorAccount',
            name='notify',
            field=fields.CharEnumField(default=NotifyMode.OFF, description='OFF: off\nIMMEDIATE: immediate\nDIGEST: digest', enum_type=NotifyMode, max_length=16),
        ),
    ]

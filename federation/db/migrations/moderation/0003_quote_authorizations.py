from tortoise import migrations
from tortoise.migrations import operations as ops
from federation.db.moderation import ReplyKind
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('actors', '0001_initial'), ('content', '0001_initial'), ('moderation', '0002_moderation_ui'), ('social', '0001_initial')]

    initial = False

    operations = [
        ops.AlterField(
            model_name='Reply',
            name='kind',
            field=fields.CharEnumField(default=ReplyKind.REPLY, description='REPLY: reply\nMENTION: mention\nREPLY_REQUEST: reply_request\nQUOTE: quote', enum_type=ReplyKind, max_length=16),
        ),
        ops.AlterModelOptions(
            name='ReplyAuthorization',
            options={'table': 'reply_authorizations', 'app': 'moderation', 'pk_attr': 'id', 'table_description': 'A Reply- or QuoteAuthorization we issued on approval, served until revoked (then 410).'},
        ),
        ops.AddField(
            model_name='ReplyAuthorization',
            name='object_type',
            field=fields.CharField(default='ReplyAuthorization', db_default='ReplyAuthorization', description='ReplyAuthorization or QuoteAuthorization', max_length=32),
        ),
    ]

"""Every activity we sent answers at its id: whom it was sent to, and whether it was withdrawn.

``readers``: the actor ids and inbox URLs an activity was delivered to besides its addressing
(a Follow carries no ``to``; a Mastodon relay is followed at its inbox). ``withdrawn_at``: when
the activity was undone or its object deleted; it then answers 410 with a Tombstone and leaves
the outbox. Rows sent before this migration get it here: the Create, Update, Add, Remove and
Announce of an object deleted since, and every activity we sent an Undo of.
"""

import functools
from json import dumps, loads
from typing import Any

from tortoise import fields, migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

OF_DELETED_OBJECTS = (
    "UPDATE outbox_activities SET withdrawn_at = (SELECT COALESCE(c.deleted_at, c.created_at) "
    "FROM content_objects c WHERE c.uri = outbox_activities.object_uri) "
    "WHERE type IN ('Create', 'Update', 'Add', 'Remove', 'Announce') AND withdrawn_at IS NULL "
    "AND object_uri IN (SELECT uri FROM content_objects WHERE state = 'deleted')"
)
UNDONE = (
    "UPDATE outbox_activities SET withdrawn_at = (SELECT MIN(u.created_at) "
    "FROM outbox_activities u WHERE u.type = 'Undo' AND u.object_uri = outbox_activities.uri) "
    "WHERE withdrawn_at IS NULL AND type <> 'Undo' AND uri IN "
    "(SELECT object_uri FROM outbox_activities WHERE type = 'Undo' AND object_uri IS NOT NULL)"
)


async def withdraw_earlier_ones(apps: Any, schema_editor: Any) -> None:
    """Mark what was already undone or deleted before this migration."""
    client = schema_editor.client
    await client.execute_query(OF_DELETED_OBJECTS)
    await client.execute_query(UNDONE)


class Migration(migrations.Migration):
    dependencies = [('actors', '0001_initial'), ('content', '0002_typed_event_fields')]

    initial = False

    operations = [
        ops.AlterModelOptions(
            name='OutboxActivity',
            options={'table': 'outbox_activities', 'app': 'content', 'indexes': [Index(fields=['actor_id', 'public', 'id'])], 'pk_attr': 'id', 'table_description': 'An activity we sent: served at its id to its readers, public ones listed in the outbox.'},
        ),
        ops.AddField(
            model_name='OutboxActivity',
            name='readers',
            field=fields.JSONField(null=True, description='whom it was sent to besides its addressing: actor ids, inbox URLs', encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
        ops.AddField(
            model_name='OutboxActivity',
            name='withdrawn_at',
            field=fields.DatetimeField(null=True, description='when it was undone, or its object deleted (it then answers 410)', auto_now=False, auto_now_add=False),
        ),
        ops.RunPython(withdraw_earlier_ones, ops.RunPython.noop),
    ]

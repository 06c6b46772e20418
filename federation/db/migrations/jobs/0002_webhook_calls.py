from json import dumps, loads

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.migrations.schema_editor.base import BaseSchemaEditor
from tortoise.migrations.schema_generator.state_apps import StateApps


async def move_pending_webhook_calls(apps: StateApps, schema_editor: BaseSchemaEditor) -> None:
    """The moderation webhook's pending calls become jobs with the same ids (the site
    deduplicates on ``X-Federation-Delivery``, which is the job's id from now on), and job ids
    start above every webhook call ever made (no new call reuses a sent call's id)."""
    client = schema_editor.client
    postgres = client.capabilities.dialect == "postgres"
    _, rows = await client.execute_query(
        "SELECT id, event, payload, attempts, next_attempt_at, last_error, created_at "
        "FROM webhook_deliveries WHERE state = 'pending'")
    marks = ", ".join(f"${n}" for n in range(1, 11)) if postgres else ", ".join("?" * 10)
    insert = ("INSERT INTO jobs (id, kind, key, ref, state, attempts, next_attempt_at, "
              f"last_error, payload, created_at) VALUES ({marks})")
    for row in rows:
        payload = row["payload"]
        payload = loads(payload) if isinstance(payload, str) else payload
        data = dumps({"event": row["event"], "payload": payload}, separators=(",", ":"))
        await client.execute_query(insert, [
            row["id"], "moderation.webhook", "", None, "pending", row["attempts"],
            row["next_attempt_at"], row["last_error"] or None, data, row["created_at"]])
    await client.execute_query("UPDATE webhook_deliveries SET state = 'failed', "
                               "last_error = 'moved to the job table' WHERE state = 'pending'")
    _, top = await client.execute_query("SELECT max(id) AS top FROM webhook_deliveries")
    if top and top[0]["top"]:
        if postgres:
            await client.execute_query(
                f"SELECT setval(pg_get_serial_sequence('jobs', 'id'), {int(top[0]['top'])})")
        else:
            await client.execute_query("DELETE FROM sqlite_sequence WHERE name = 'jobs'")
            await client.execute_query(
                f"INSERT INTO sqlite_sequence (name, seq) VALUES ('jobs', {int(top[0]['top'])})")


class Migration(migrations.Migration):
    dependencies = [('jobs', '0001_initial'), ('moderation', '0002_moderation_ui')]

    initial = False

    operations = [
        ops.RunPython(move_pending_webhook_calls, ops.RunPython.noop),
    ]

"""The delivery claim's window (branch fanout): due deliveries in (state, next_attempt_at, host) order,
so a claim reads the first rows of hosts with room instead of ranking every due row."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('delivery', '0001_initial')]

    initial = False

    operations = [
        ops.RemoveIndex(
            model_name='DeliveryJob',
            name=None,
            fields=['state', 'next_attempt_at'],
        ),
        ops.AddIndex(
            model_name='DeliveryJob',
            index=Index(fields=['state', 'next_attempt_at', 'host']),
        ),
    ]

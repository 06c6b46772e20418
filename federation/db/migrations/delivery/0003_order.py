"""Deliveries in order (branch main, 2026-12-07): the claim looks for an earlier delivery to
the same inbox still pending or sending (``delivery/queue.py::_IN_ORDER``), by inbox and state."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('delivery', '0002_fanout')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='DeliveryJob',
            index=Index(fields=['inbox_url', 'state']),
        ),
    ]

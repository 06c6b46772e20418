"""Durable delivery: fanout, per-inbox queue (leases, retry policy, give-up), worker.

Public API for other services:

- :func:`federation.delivery.outbox.send_activity` with an
  :class:`~federation.delivery.outbox.Audience` — queue an activity (returns at once);
- :func:`federation.delivery.outbox.activity_uri` — a new id for an activity we send;
- :func:`federation.delivery.health.host_contacted` — a remote host sent us a verified
  request: give it another chance if it was set aside.

Workers: :class:`federation.delivery.worker.DeliveryWorker` (``run_once``/``run_forever``),
run in-process by ``federation serve`` and alone by ``federation worker``. Finished rows past
``delivery.retention_days`` are purged hourly by the job engine's ``delivery.purge`` job
(:mod:`federation.delivery.retention`, :mod:`federation.web.loops`).
"""

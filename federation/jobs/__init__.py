"""The job engine: one row contract, one fair claim, one retry policy, one worker, supervision.

- :mod:`federation.db.jobs` — the job table (the row contract: kind, state, attempts,
  ``next_attempt_at``, lease token and expiry, ``last_error``, fairness key, payload);
- :mod:`.graph` — each kind's state graph, as data;
- :mod:`.policy` — the retry policy (Mastodon's schedule, or doubling waits) and the HTTP verdicts;
- :mod:`.store` — enqueue, the fair claim (``SKIP LOCKED`` on PostgreSQL), leases, results;
- :mod:`.worker` — :class:`~.worker.Worker` (``run_once``, ``run(stop)``, graceful shutdown);
- :mod:`.supervisor` — restarts a failed loop after a bounded backoff; per-loop status.

Background work runs on it: the moderation webhook, feed polling, the inbox and delivery
purges. The delivery queue keeps its own tables and raw-SQL fast path (:mod:`federation.delivery`)
with the same contract (state, attempts, lease token and expiry, host as key); it is supervised
the same way.
"""

"""Every job kind, as data: name, state graph, retry policy, lease, per-key cap.

The services run their kinds' handlers (:class:`~federation.jobs.worker.Task`); the kinds are
declared here, together, so that one test walks every kind's graph
(``tests/jobs/test_graphs.py``) and the job table's ``kind`` column has one vocabulary.
"""

from __future__ import annotations

from datetime import timedelta

from federation.jobs.graph import ONE_SHOT, RECURRING
from federation.jobs.policy import Curve, RetryPolicy
from federation.jobs.worker import JobKind

#: A moderation decision POSTed to the site's webhook: 30 s, 1 min, 2 min … 6 h; 8 attempts.
WEBHOOK = JobKind(
    "moderation.webhook", ONE_SHOT,
    RetryPolicy(max_attempts=8, curve=Curve.EXPONENTIAL, first=30.0, cap=6 * 3600.0),
    lease=timedelta(seconds=60), per_key=1,
)

#: One feed to poll (one job per feed, ``ref`` = the feed's id, ``key`` = its host). A failing
#: feed waits its interval × 2^failures, at most a day (the handler sets ``first`` to twice the
#: feed's interval); it is never given up. Done when the feed is removed.
FEED = JobKind(
    "ingest.feed", RECURRING,
    RetryPolicy(max_attempts=None, curve=Curve.EXPONENTIAL, first=1800.0, cap=86400.0),
    lease=timedelta(minutes=5), per_key=2,
)

#: A verified inbox activity, stored before its 202 (``ref`` = the activity id: one job per
#: activity, the de-duplication; ``key`` = the sender's host). The request attempts it at once
#: under the job's lease; a worker takes it up if that attempt could not finish (the process
#: died, the database failed): 1 min, 2 min … 6 h, 10 attempts. The lease outlasts a
#: listener's bounded remote work (fetch budget, client timeouts).
INBOX_ACTIVITY = JobKind(
    "inbox.activity", ONE_SHOT,
    RetryPolicy(max_attempts=10, curve=Curve.EXPONENTIAL, first=60.0, cap=6 * 3600.0),
    lease=timedelta(minutes=5), per_key=4,
)

_PURGE_RETRY = RetryPolicy(max_attempts=None, curve=Curve.EXPONENTIAL, first=60.0, cap=3600.0)

#: Expired inbox de-duplication claims and tombstones, deleted hourly (one job, ``ref`` "periodic").
INBOX_PURGE = JobKind("inbox.purge", RECURRING, _PURGE_RETRY, lease=timedelta(minutes=10))

#: Finished deliveries, done fanouts and idle hosts past ``delivery.retention_days``, hourly.
DELIVERY_PURGE = JobKind("delivery.purge", RECURRING, _PURGE_RETRY, lease=timedelta(minutes=10))

#: Finished jobs of this table past their retention, hourly.
JOB_PURGE = JobKind("jobs.purge", RECURRING, _PURGE_RETRY, lease=timedelta(minutes=10))

#: One e-mail to one moderator (a new pending item, or their daily digest; ``ref`` names the
#: item or the digest's day and the moderator: one job each, never two sends of one
#: notification). ``key`` is the SMTP server (two sessions at once): 1 min, 2 min … 6 h,
#: 10 attempts (about a day and a half).
NOTIFY_MAIL = JobKind(
    "moderation.mail", ONE_SHOT,
    RetryPolicy(max_attempts=10, curve=Curve.EXPONENTIAL, first=60.0, cap=6 * 3600.0),
    lease=timedelta(minutes=5), per_key=2,
)

#: The daily digests: every quarter of an hour, queues a ``moderation.mail`` for each moderator
#: whose digest is due (``ref`` "periodic").
NOTIFY_DIGEST = JobKind("moderation.digest", RECURRING, _PURGE_RETRY, lease=timedelta(minutes=10))

KINDS: tuple[JobKind, ...] = (WEBHOOK, FEED, INBOX_ACTIVITY, INBOX_PURGE, DELIVERY_PURGE, JOB_PURGE,
                              NOTIFY_MAIL, NOTIFY_DIGEST)

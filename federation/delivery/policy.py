"""The delivery queue's retry policy: the job engine's (:mod:`federation.jobs.policy`), with
Mastodon's schedule (17 attempts over about 2.8 days)."""

from __future__ import annotations

from federation.jobs.policy import (
    DEFAULT_MAX_ATTEMPTS,
    DELIVERY_POLICY,
    GONE_STATUSES,
    MAX_RETRY_AFTER,
    RETRYABLE_CLIENT_ERRORS,
    Decision,
    Verdict,
    backoff_seconds,
    decide,
    is_permanent,
    is_success,
    parse_retry_after,
    schedule,
)

__all__ = ["DEFAULT_MAX_ATTEMPTS", "DELIVERY_POLICY", "GONE_STATUSES", "MAX_RETRY_AFTER",
           "RETRYABLE_CLIENT_ERRORS", "Decision", "Verdict", "backoff_seconds", "decide",
           "is_permanent", "is_success", "parse_retry_after", "schedule"]

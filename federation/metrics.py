"""What a process counts for Prometheus (``prometheus-client``), off the wire unless ``[metrics]
listen`` is set (:mod:`federation.web.metrics` serves them).

One :class:`Metrics` per process, built by the composition root and handed to the parts that
count (no global registry: tests build as many as they like). Counters and histograms are this
process's; the gauges are read from the database when the endpoint is scraped
(:meth:`Metrics.read_gauges`), so every process reports the same queue.

**No label ever holds a reader's address, a handle, a host name or a URL** — only values from
fixed sets: a delivery's verdict, the reason code of a refused activity, a feed poll's result, a
job's kind, a queue's state. ``tests/test_metrics.py`` checks every label value of a scrape
against those sets.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

#: Seconds: signing one RSA-2048 signature (~0.3 ms) to a slow key fetch during verification.
TIME_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """The process's instruments (see the module)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        self.deliveries = Counter(
            "federation_deliveries", "Delivery attempts by outcome (delivered, retry, failed, "
            "gone, set_aside…)", ["outcome"], registry=registry)
        self.inbox = Counter(
            "federation_inbox_activities", "Activities POSTed to the inboxes: accepted, or "
            "refused with a reason code", ["result", "reason"], registry=registry)
        self.verification_seconds = Histogram(
            "federation_signature_verification_seconds", "Verifying an inbox request's "
            "signature, key fetch included", buckets=TIME_BUCKETS, registry=registry)
        self.signing_seconds = Histogram(
            "federation_signing_seconds", "Signing one delivery (averaged over its batch)",
            buckets=TIME_BUCKETS, registry=registry)
        self.feed_polls = Counter(
            "federation_feed_polls", "Feed polls by result", ["result"], registry=registry)
        self.delivery_queue = Gauge(
            "federation_delivery_queue", "Deliveries in the queue by state", ["state"],
            registry=registry)
        self.hosts_set_aside = Gauge(
            "federation_hosts_set_aside", "Remote hosts set aside (not attempted until their "
            "next probe)", registry=registry)
        self.moderation_queue = Gauge(
            "federation_moderation_queue", "What waits for a moderator: pending replies and "
            "open reports", ["kind"], registry=registry)
        self.jobs = Gauge("federation_jobs", "Jobs by kind and state", ["kind", "state"],
                          registry=registry)
        self.job_lag = Gauge(
            "federation_job_lag_seconds", "Age of the oldest due job not yet started, by kind",
            ["kind"], registry=registry)

    @contextmanager
    def timed_verification(self) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.verification_seconds.observe(time.perf_counter() - started)

    def signed(self, count: int, seconds: float) -> None:
        """``count`` signatures took ``seconds`` (one batch)."""
        if count:
            each = seconds / count
            for _ in range(count):
                self.signing_seconds.observe(each)

    def accepted(self) -> None:
        self.inbox.labels("accepted", "").inc()

    def refused(self, reason: str) -> None:
        self.inbox.labels("refused", reason).inc()

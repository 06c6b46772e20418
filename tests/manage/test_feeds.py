"/admin/feeds: add, remove, poll now (a job made due: the worker fetches, never the request)."

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from federation.db.ingest import Feed, FeedKind
from federation.db.jobs import Job
from federation.ingest.poller import FeedPoller
from federation.jobs.kinds import FEED
from federation.jobs.worker import Worker
from federation.web.state import CLIENT, PUBLISHER, SETTINGS

RSS = (Path(__file__).parents[1] / "ingest" / "fixtures" / "spip.rss").read_bytes()
HALTE = "halte-au-controle-numerique"


async def _run_feed_jobs(site) -> None:
    poller = FeedPoller.for_site(site.app[SETTINGS], site.app[CLIENT], site.app[PUBLISHER])
    worker = Worker([poller.task()], random=lambda: 0.0)
    while await worker.run_once():
        pass


async def test_adding_a_feed_schedules_its_job(site, peer):
    url = peer.serve("/spip.php?page=backend", (200, "application/rss+xml", RSS))
    csrf = await site.login()
    response = await site.post("/admin/feeds", {"csrf": csrf, "action": "add", "actor": HALTE,
                                                "url": url, "kind": "", "interval": "600"})
    assert response.status == 303, await response.text()
    feed = await Feed.get(url=url)
    assert feed.kind == FeedKind.RSS and feed.interval_seconds == 600
    assert await Job.exists(kind=FEED.name, ref=str(feed.id))
    assert peer.gets == []  # nothing fetched in the request
    html = await site.page("/admin/feeds")
    assert f'value="poll:{feed.id}"' in html and url.replace("&", "&amp;") in html


async def test_bad_feeds_are_refused_with_the_reason_and_nothing_stored(site):
    csrf = await site.login()
    good = {"csrf": csrf, "action": "add", "actor": HALTE, "url": "https://site.example/rss",
            "kind": "", "interval": "900"}
    for change, status, words in (({"url": "ftp://site.example/rss"}, 400, "not an http"),
                                  ({"url": "javascript:alert(1)"}, 400, "not an http"),
                                  ({"interval": "5"}, 400, "interval"),
                                  ({"interval": "abc"}, 400, "interval"),
                                  ({"kind": "pdf"}, 400, "format"),
                                  ({"actor": "nobody"}, 404, "nobody")):
        response = await site.post("/admin/feeds", {**good, **change})
        text = await response.text()
        assert response.status == status, (change, text[:500])
        assert 'class="error"' in text and words in text, change
    assert not await Feed.exists()
    assert (await site.post("/admin/feeds", good)).status == 303
    duplicate = await site.post("/admin/feeds", good)
    assert duplicate.status == 409 and "already polled" in await duplicate.text()
    assert await Feed.all().count() == 1


async def test_poll_now_makes_the_job_due_and_the_worker_polls_it(site, peer):
    """"Poll now" only moves the feed's job: the request fetches nothing; the job engine's
    next run polls it, and the page shows the result (and a failure's error)."""
    url = peer.serve("/feed.rss", (200, "application/rss+xml", RSS))
    csrf = await site.login()
    await site.post("/admin/feeds", {"csrf": csrf, "action": "add", "actor": HALTE, "url": url,
                                     "kind": "rss", "interval": "3600"})
    feed = await Feed.get(url=url)
    later = datetime.now(UTC) + timedelta(hours=1)
    await Feed.filter(id=feed.id).update(next_poll_at=later)
    await Job.filter(kind=FEED.name, ref=str(feed.id)).update(next_attempt_at=later)
    await _run_feed_jobs(site)
    assert peer.gets == []  # not due
    response = await site.post("/admin/feeds", {"csrf": csrf, "one": f"poll:{feed.id}"})
    assert response.status == 303
    assert peer.gets == []  # the request polled nothing
    job = await Job.get(kind=FEED.name, ref=str(feed.id))
    assert job.next_attempt_at <= datetime.now(UTC)
    await _run_feed_jobs(site)
    assert peer.gets == ["/feed.rss"]
    feed = await Feed.get(id=feed.id)
    assert feed.last_success_at is not None and feed.primed and feed.failures == 0
    peer.serve("/feed.rss", (500, "text/plain", b"down"))
    await site.post("/admin/feeds", {"csrf": csrf, "one": f"poll:{feed.id}"})
    await _run_feed_jobs(site)
    feed = await Feed.get(id=feed.id)
    assert feed.failures == 1 and "HTTP 500" in feed.last_error
    html = await site.page("/admin/feeds")
    assert "HTTP 500" in html and "failing" in html


async def test_removing_a_feed_and_unknown_ids(site):
    csrf = await site.login()
    await site.post("/admin/feeds", {"csrf": csrf, "action": "add", "actor": HALTE,
                                     "url": "https://site.example/rss", "interval": "900"})
    feed = await Feed.get()
    for one, status in ((f"remove:{feed.id + 1}", 404), (f"poll:{feed.id + 1}", 404),
                        ("poll:", 400), ("poll:-1", 400), ("purge:1", 400)):
        assert (await site.post("/admin/feeds", {"csrf": csrf, "one": one})).status == status, one
    ask = await site.post("/admin/feeds", {"csrf": csrf, "one": f"remove:{feed.id}"})
    assert ask.status == 200 and "https://site.example/rss" in await ask.text()
    assert await Feed.exists()
    confirmed = {"csrf": csrf, "one": f"remove:{feed.id}", "confirm": "yes"}
    assert (await site.post("/admin/feeds", confirmed)).status == 303
    assert not await Feed.exists()
    assert (await site.post("/admin/feeds", confirmed)).status == 404

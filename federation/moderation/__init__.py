"""A-priori moderation of fediverse replies: the queue's rules, the web UI, the site's exports.

- :mod:`federation.moderation.service` — approve, reject, spam, undo, bulk, block, reports;
- :mod:`federation.moderation.activities` — the Accept/Reject/ReplyAuthorization documents;
- :mod:`federation.moderation.accounts` — moderator accounts, sessions, API tokens, login limits;
- :mod:`federation.moderation.webhook` — the site's signed webhook and its durable queue;
- :mod:`federation.moderation.exports` — approved public replies (JSON, Atom);
- :mod:`federation.moderation.web` — ``setup(app)``: ``/admin/``, the JSON API, public documents.
"""

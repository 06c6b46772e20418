"""Sister sites: following other bridges (and relays), and republishing their work.

- :mod:`.subscriptions` — follow / unfollow a remote actor, subscribe to a relay (FEP-ae0c);
- :mod:`.items` — a received object turned into the clean columns of a ``SyndicatedItem``;
- :mod:`.service` — the policies (announce, review, store), approval, rejection, withdrawal;
- :mod:`.listeners` — the inbox listeners for followed actors, composed with the others;
- :mod:`.exports` — Atom, JSON Feed and iCalendar exports for the site's CMS;
- :mod:`.web` — the editorial queue under ``/admin/syndication``, its JSON API, the feeds.
"""

"""The inbox: receive (verify → authorize → de-duplicate), then listeners per activity type.

- :mod:`.wire` – pure helpers on incoming JSON (ids, addressing, Public in its three spellings).
- :mod:`.receive` – the receive pipeline, in the order of the security floor: size, media type,
  JSON limits, signature, digest, time, host, blocked domain, key, key owner, blocked actor.
- :mod:`.context` – what a listener gets: settings, directory, actor store, fetch budget.
- :mod:`.processor` – de-duplication, tombstones, and the dispatch to listeners.
- :mod:`.follows`, :mod:`.replies`, :mod:`.interactions` – the listeners.
"""

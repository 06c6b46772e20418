"""The one hardened outbound HTTP client, and what is fetched through it.

- :mod:`.addresses` – which IP addresses may be contacted (pure).
- :mod:`.client` – :class:`HardenedClient`: connect-time IP checks, redirects, caps, deadline.
- :mod:`.jsonlimits` – JSON parsing with size, depth and item caps (pure).
- :mod:`.fetch` – ActivityStreams documents whose ``id`` matches where they came from.
- :mod:`.keys` – remote public keys, owned by the actor that lists them, cached.
- :mod:`.webfinger` – ``@name@host`` to actor URI.
"""

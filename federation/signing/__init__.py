"""HTTP signatures, digests and keys: pure code, no event loop, no database, no network.

This package is the only place that imports ``httpsig`` and ``http_message_signatures``.

- :mod:`.digests` – ``Digest`` (RFC 3230) and ``Content-Digest`` (RFC 9530) headers.
- :mod:`.cavage` – draft-cavage-12 signatures, Mastodon flavour (sign and verify).
- :mod:`.rfc9421` – RFC 9421 HTTP Message Signatures (verify; sign for tests).
- :mod:`.keys` – key generation, PEM and multibase encodings, the private-key vault.
- :mod:`.httpsig_compat` – the ``httpsig`` package wrapped so it cannot pick the algorithm.
"""

"""Keys shared by the signing tests (RSA generation is the slow part, so once per session)."""

from __future__ import annotations

import pytest

from federation.signing.keys import generate_ed25519_key, generate_rsa_key


@pytest.fixture(scope="session")
def rsa_key():
    return generate_rsa_key()


@pytest.fixture(scope="session")
def other_rsa_key():
    return generate_rsa_key()


@pytest.fixture(scope="session")
def ed_key():
    return generate_ed25519_key()

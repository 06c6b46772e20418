"""Keys: PEM and multibase round-trips, and the vault that keeps private keys encrypted."""

from __future__ import annotations

import os
import stat

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from federation.signing.keys import (
    KeyVault,
    ed25519_public_multibase,
    load_ed25519_multibase,
    load_private_key_pem,
    load_public_key_pem,
    private_key_to_pem,
    public_key_to_pem,
)


def test_rsa_pem_round_trip(rsa_key):
    """An RSA key survives PEM serialisation both ways."""
    assert load_public_key_pem(public_key_to_pem(rsa_key)).public_numbers() == rsa_key.public_key().public_numbers()
    assert load_private_key_pem(private_key_to_pem(rsa_key)).private_numbers() == rsa_key.private_numbers()


def test_public_pem_is_spki(rsa_key):
    """publicKeyPem uses the SubjectPublicKeyInfo form Mastodon publishes."""
    assert public_key_to_pem(rsa_key).startswith("-----BEGIN PUBLIC KEY-----")


def test_pkcs1_rsa_public_key_is_accepted(rsa_key):
    """Some peers publish BEGIN RSA PUBLIC KEY (PKCS#1): it loads too."""
    pem = rsa_key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1)
    assert load_public_key_pem(pem).key_size == rsa_key.key_size


@pytest.mark.parametrize("bad", ["", "garbage", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----", "A" * 20000])
def test_bad_public_pem_is_value_error(bad):
    """Unparsable PEM raises ValueError."""
    with pytest.raises(ValueError):
        load_public_key_pem(bad)


def test_unsupported_key_type_is_refused():
    """EC keys are not a supported signing key type."""
    pem = public_key_to_pem_any(ec.generate_private_key(ec.SECP256R1()).public_key())
    with pytest.raises(ValueError):
        load_public_key_pem(pem)


def public_key_to_pem_any(key):
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def test_ed25519_multibase_matches_fep_521a(ed_key):
    """publicKeyMultibase is z + base58btc(0xed01 + key), 48 chars starting z6Mk."""
    value = ed25519_public_multibase(ed_key)
    assert value.startswith("z6Mk") and len(value) == 48
    assert load_ed25519_multibase(value) == ed_key.public_key()


def test_known_multibase_vector():
    """A published FEP-521a example decodes to a 32-byte Ed25519 key and re-encodes the same."""
    value = "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
    assert ed25519_public_multibase(load_ed25519_multibase(value)) == value


@pytest.mark.parametrize("bad", ["", "m6Mk", "z0OIl", "z" + "1" * 10])
def test_bad_multibase_is_value_error(bad):
    """Values that are not base58btc Ed25519 multikeys raise ValueError."""
    with pytest.raises(ValueError):
        load_ed25519_multibase(bad)


def test_vault_round_trip_and_tamper(rsa_key, ed_key):
    """Encrypted private keys decrypt with the same secret only."""
    vault = KeyVault(KeyVault.generate_secret())
    for key in (rsa_key, ed_key):
        token = vault.encrypt_private_key(key)
        assert "PRIVATE KEY" not in token
        assert private_key_to_pem(vault.decrypt_private_key(token)) == private_key_to_pem(key)
    with pytest.raises(ValueError):
        KeyVault(KeyVault.generate_secret()).decrypt_private_key(vault.encrypt_private_key(rsa_key))


def test_vault_repr_hides_secret():
    """The vault's secret never appears in its repr."""
    secret = KeyVault.generate_secret()
    assert secret.decode() not in repr(KeyVault(secret))


def test_load_or_create_keeps_secret_0600(tmp_path):
    """The secret file is created with mode 0600 in a new directory and reused afterwards."""
    data_dir = tmp_path / "data" / "nested"
    vault = KeyVault.load_or_create(data_dir)
    path = data_dir / "secret.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    token = vault.encrypt_private_key(load_private_key_pem(private_key_to_pem_fixture()))
    assert KeyVault.load_or_create(data_dir).decrypt_private_key(token)


def test_load_or_create_tightens_open_permissions(tmp_path):
    """A secret file readable by others is tightened to 0600."""
    KeyVault.load_or_create(tmp_path)
    os.chmod(tmp_path / "secret.key", 0o644)
    KeyVault.load_or_create(tmp_path)
    assert stat.S_IMODE((tmp_path / "secret.key").stat().st_mode) == 0o600


def private_key_to_pem_fixture() -> str:
    from federation.signing.keys import generate_ed25519_key

    return private_key_to_pem(generate_ed25519_key())

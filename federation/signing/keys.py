"""Keys: generation, PEM and multibase encodings, and the vault that encrypts private keys at rest.

Supported key types are RSA (at least :data:`MIN_RSA_BITS` bits) and Ed25519. Private key
material never appears in a ``repr``, a log line or an exception message.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

logger = logging.getLogger(__name__)

PrivateKey = rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
PublicKey = rsa.RSAPublicKey | ed25519.Ed25519PublicKey

#: Size of the RSA keys we generate (what Mastodon generates).
RSA_KEY_BITS = 2048
#: Smaller RSA public keys are refused when loaded.
MIN_RSA_BITS = 2048
#: Longest PEM text we try to parse.
MAX_PEM_LENGTH = 16_384
#: Multicodec prefix of an Ed25519 public key (varint of 0xed).
ED25519_MULTICODEC_PREFIX = b"\xed\x01"
SECRET_FILE_NAME = "secret.key"

_B58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def generate_rsa_key(bits: int = RSA_KEY_BITS) -> rsa.RSAPrivateKey:
    """A new RSA private key (public exponent 65537)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def generate_ed25519_key() -> ed25519.Ed25519PrivateKey:
    """A new Ed25519 private key."""
    return ed25519.Ed25519PrivateKey.generate()


def private_key_to_pem(key: PrivateKey) -> str:
    """Unencrypted PKCS#8 PEM of ``key`` (store it only through :class:`KeyVault`)."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


def public_key_to_pem(key: PublicKey | PrivateKey) -> str:
    """SubjectPublicKeyInfo PEM (``BEGIN PUBLIC KEY``), the ``publicKeyPem`` form."""
    if isinstance(key, (rsa.RSAPrivateKey, ed25519.Ed25519PrivateKey)):
        key = key.public_key()
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def _check_size(key: PublicKey | PrivateKey) -> None:
    if isinstance(key, (rsa.RSAPublicKey, rsa.RSAPrivateKey)) and key.key_size < MIN_RSA_BITS:
        raise ValueError(f"RSA key of {key.key_size} bits is too small")


def _supported_private(key: object) -> PrivateKey:
    if isinstance(key, (rsa.RSAPrivateKey, ed25519.Ed25519PrivateKey)):
        _check_size(key)
        return key
    raise ValueError(f"unsupported key type {type(key).__name__}")


def _supported_public(key: object) -> PublicKey:
    if isinstance(key, (rsa.RSAPublicKey, ed25519.Ed25519PublicKey)):
        _check_size(key)
        return key
    raise ValueError(f"unsupported key type {type(key).__name__}")


def load_private_key_pem(pem: str | bytes) -> PrivateKey:
    """Parse an unencrypted private key PEM; ``ValueError`` if invalid or unsupported."""
    data = pem.encode("ascii") if isinstance(pem, str) else pem
    if len(data) > MAX_PEM_LENGTH:
        raise ValueError("PEM too long")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise ValueError("not a valid private key PEM") from exc  # never echo the input
    return _supported_private(key)


def load_public_key_pem(pem: str | bytes) -> PublicKey:
    """Parse a public key PEM (SPKI or PKCS#1 RSA); ``ValueError`` if invalid or unsupported."""
    data = pem.encode("ascii", "replace") if isinstance(pem, str) else pem
    if len(data) > MAX_PEM_LENGTH:
        raise ValueError("PEM too long")
    try:
        key = serialization.load_pem_public_key(data.strip())
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise ValueError("not a valid public key PEM") from exc
    return _supported_public(key)


def load_ed25519_public_key_pem(pem: str | bytes) -> ed25519.Ed25519PublicKey:
    """:func:`load_public_key_pem` for a key that must be Ed25519; ``ValueError`` otherwise."""
    key = load_public_key_pem(pem)
    if not isinstance(key, ed25519.Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


def _b58encode(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    out = []
    while number:
        number, rem = divmod(number, 58)
        out.append(_B58_ALPHABET[rem])
    leading = len(data) - len(data.lstrip(b"\0"))
    return "1" * leading + "".join(reversed(out))


def _b58decode(text: str) -> bytes:
    number = 0
    for char in text:
        index = _B58_ALPHABET.find(char)
        if index < 0:
            raise ValueError("invalid base58 character")
        number = number * 58 + index
    leading = len(text) - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * leading + body


def ed25519_public_multibase(key: ed25519.Ed25519PublicKey | ed25519.Ed25519PrivateKey) -> str:
    """FEP-521a ``publicKeyMultibase``: ``z`` + base58btc(0xed01 + raw 32-byte key)."""
    if isinstance(key, ed25519.Ed25519PrivateKey):
        key = key.public_key()
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "z" + _b58encode(ED25519_MULTICODEC_PREFIX + raw)


def load_ed25519_multibase(value: str) -> ed25519.Ed25519PublicKey:
    """Parse an FEP-521a Ed25519 ``publicKeyMultibase``; ``ValueError`` otherwise."""
    if not isinstance(value, str) or not value.startswith("z") or len(value) > 128:
        raise ValueError("not a base58btc multibase value")
    decoded = _b58decode(value[1:])
    if not decoded.startswith(ED25519_MULTICODEC_PREFIX) or len(decoded) != 34:
        raise ValueError("not an Ed25519 multikey")
    return ed25519.Ed25519PublicKey.from_public_bytes(decoded[2:])


class KeyVault:
    """Encrypts private key PEMs at rest with Fernet (AES-128-CBC + HMAC-SHA256)."""

    __slots__ = ("_fernet", "_secret", "unsaved")

    def __init__(self, secret: bytes) -> None:
        try:
            self._fernet = Fernet(secret)
        except (ValueError, TypeError) as exc:
            raise ValueError("vault secret must be 32 url-safe base64-encoded bytes") from exc
        self._secret = secret
        #: Where a new secret will be written by :meth:`save`; ``None`` once it is on disk.
        self.unsaved: Path | None = None

    def __repr__(self) -> str:
        return "KeyVault(<secret hidden>)"

    @staticmethod
    def generate_secret() -> bytes:
        """A new random vault secret."""
        return Fernet.generate_key()

    @classmethod
    def load_or_create(cls, data_dir: str | os.PathLike[str]) -> KeyVault:
        """The vault whose secret is ``<data_dir>/secret.key`` (created with mode 0600)."""
        vault = cls.open(data_dir)
        if vault.unsaved is not None:
            vault.save()
        return vault

    @classmethod
    def open(cls, data_dir: str | os.PathLike[str]) -> KeyVault:
        """The vault of ``<data_dir>/secret.key``; when the file does not exist, a vault with a
        new secret that is not written yet (:attr:`unsaved`): :meth:`save` writes it, once the
        caller knows that no key was made with another secret."""
        directory = Path(data_dir)
        path = directory / SECRET_FILE_NAME
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except FileNotFoundError:
            vault = cls(cls.generate_secret())
            vault.unsaved = path
            return vault
        if mode & 0o077:
            logger.warning("tightening permissions of %s from %o to 600", path, mode)
            os.chmod(path, 0o600)
        return cls(path.read_bytes().strip())

    def save(self) -> None:
        """Write the new secret to the :attr:`unsaved` path (mode 0600, never over a file)."""
        path = self.unsaved
        if path is None:
            return
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise ValueError(f"{path} appeared while this process held another secret") from None
        with os.fdopen(fd, "wb") as handle:
            handle.write(self._secret + b"\n")
            handle.flush()
            os.fsync(handle.fileno())
        self.unsaved = None
        logger.info("created a new key vault secret in %s", path)

    def encrypt_private_key(self, key: PrivateKey) -> str:
        """The private key as an encrypted token, safe to store in the database."""
        return self._fernet.encrypt(private_key_to_pem(key).encode("ascii")).decode("ascii")

    def decrypt_private_key(self, token: str | bytes) -> PrivateKey:
        """The private key stored in ``token``; ``ValueError`` if tampered or wrong secret."""
        data = token.encode("ascii") if isinstance(token, str) else token
        try:
            pem = self._fernet.decrypt(data)
        except InvalidToken as exc:
            raise ValueError("private key token cannot be decrypted with this vault") from exc
        return load_private_key_pem(pem)

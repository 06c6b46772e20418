"""A local certificate authority for TLS tests, made with ``cryptography`` (no openssl command).

``LocalCA(directory)`` writes ``ca.pem`` (what ``SSL_CERT_FILE`` points at) and issues server
certificates for host names or IP addresses: valid ones, expired ones, or ones for other names;
:func:`self_signed` makes a certificate no CA vouches for. Keys are P-256 (instant to make).
:func:`serving` runs an aiohttp application on loopback over TLS with such a certificate.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class Issued:
    """A certificate (chain: leaf only) and its key, as PEM files."""

    cert: Path
    key: Path


def _names(names: tuple[str, ...]) -> list[x509.GeneralName]:
    general: list[x509.GeneralName] = []
    for name in names:
        try:
            general.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            general.append(x509.DNSName(name))
    return general


def _write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> None:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    path.chmod(0o600)


def _leaf(subject_key: ec.EllipticCurvePrivateKey, names: tuple[str, ...], issuer: x509.Name,
          signing_key: ec.EllipticCurvePrivateKey, not_before: datetime,
          not_after: datetime) -> x509.Certificate:
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(issuer)
        .public_key(subject_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName(_names(names)), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(signing_key, hashes.SHA256())
    )


class LocalCA:
    """A CA whose certificate is ``directory/ca.pem``; :meth:`issue` writes server certificates."""

    def __init__(self, directory: Path, name: str = "federation tests CA") -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self._key = ec.generate_private_key(ec.SECP256R1())
        self.name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = datetime.now(UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(self.name).issuer_name(self.name)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True,
                                         crl_sign=True, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False,
                                         decipher_only=False), critical=True)
            .sign(self._key, hashes.SHA256())
        )
        self.cert = directory / "ca.pem"
        self.cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))

    def issue(self, *names: str, expired: bool = False, stem: str | None = None) -> Issued:
        """A certificate for ``names`` (DNS names or IP addresses) signed by this CA."""
        now = datetime.now(UTC)
        not_before, not_after = ((now - timedelta(days=30), now - timedelta(days=1)) if expired
                                 else (now - timedelta(hours=1), now + timedelta(days=7)))
        key = ec.generate_private_key(ec.SECP256R1())
        certificate = _leaf(key, names, self.name, self._key, not_before, not_after)
        return _write(self.directory, stem or names[0], certificate, key)


def self_signed(directory: Path, *names: str, stem: str | None = None) -> Issued:
    """A certificate for ``names`` signed by its own key: no CA vouches for it."""
    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    certificate = _leaf(key, names, subject, key, now - timedelta(hours=1), now + timedelta(days=7))
    return _write(directory, stem or f"{names[0]}-self-signed", certificate, key)


def _write(directory: Path, stem: str, certificate: x509.Certificate,
           key: ec.EllipticCurvePrivateKey) -> Issued:
    cert, key_path = directory / f"{stem}.pem", directory / f"{stem}.key"
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    _write_key(key, key_path)
    return Issued(cert, key_path)


def server_context(issued: Issued) -> ssl.SSLContext:
    """A server-side context presenting ``issued``."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(issued.cert, issued.key)
    return context


@contextlib.asynccontextmanager
async def serving(app: web.Application, issued: Issued | None) -> AsyncIterator[int]:
    """Serve ``app`` on 127.0.0.1 over TLS with ``issued`` (None: plain HTTP); yield its port."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0,
                           ssl_context=server_context(issued) if issued else None)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.Server)
        yield server.sockets[0].getsockname()[1]
    finally:
        await runner.cleanup()

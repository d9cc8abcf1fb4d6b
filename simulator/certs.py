"""Certificates and token laid out exactly as a user copies them out of a Kuscia container.

`ensure_certs(dir)` creates, when missing, `ca.crt` (+ `ca.key`), `kusciaapi-server.crt`,
`kusciaapi-server.key` and `token` (32 characters, no trailing newline). The server pair is
signed by the CA and, as Kuscia's docs do, also serves as the client pair for MTLS
(kuscia-api.md §1.2, §12). `make_foreign_client_pair` mints a pair from another CA (tests of
"handshake refused"). `domain_keys` / `domain_cert` give each simulated domain an RSA key pair
and a self-signed certificate, as a Kuscia node makes its own domain.key / domain.crt.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import ipaddress
import os
import secrets
import string
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_CERT = "ca.crt"
CA_KEY = "ca.key"
SERVER_CERT = "kusciaapi-server.crt"
SERVER_KEY = "kusciaapi-server.key"
TOKEN = "token"

SAN_DNS = ("localhost", "kusciaapi")
SAN_IPS = ("127.0.0.1",)
TOKEN_ALPHABET = string.ascii_letters + string.digits


def _write(path: Path, data: bytes, *, private: bool = False) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    if private:
        os.chmod(tmp, 0o600)
    tmp.replace(path)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _builder(
    subject: x509.Name, issuer: x509.Name, public_key: CertificatePublicKeyTypes, days: int
) -> x509.CertificateBuilder:
    """Subject, issuer, key, a random serial, valid from 5 minutes ago for `days` days."""
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
    )


def _new_ca(common_name: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = (
        _builder(name, name, key.public_key(), 3650)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _leaf(
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    common_name: str,
    *,
    days: int = 3650,
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = [x509.DNSName(n) for n in SAN_DNS]
    sans += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in SAN_IPS]
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = (
        _builder(subject, ca_cert.subject, key.public_key(), days)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def ensure_certs(cert_dir: Path | str) -> None:
    """Create the Kuscia certificate files in `cert_dir` unless they already exist.

    Existing files are never replaced: a directory copied out of a real Kuscia (ca.crt, the
    server pair and token, but no ca.key) is used as it is. A missing server pair is issued
    from ca.crt + ca.key; without ca.key that is impossible and raises FileNotFoundError.
    """
    d = Path(cert_dir)
    d.mkdir(parents=True, exist_ok=True)
    ca_crt, ca_key_path = d / CA_CERT, d / CA_KEY
    srv_crt, srv_key = d / SERVER_CERT, d / SERVER_KEY
    if not (srv_crt.exists() and srv_key.exists()):
        if not ca_crt.exists():
            ca_key, ca_cert = _new_ca("KusciaSimulatorCA")
            _write(ca_key_path, _key_pem(ca_key), private=True)
            _write(ca_crt, ca_cert.public_bytes(serialization.Encoding.PEM))
        elif ca_key_path.exists():
            loaded = serialization.load_pem_private_key(ca_key_path.read_bytes(), password=None)
            if not isinstance(loaded, ec.EllipticCurvePrivateKey):
                raise ValueError(f"{ca_key_path}: only EC CA keys made by ensure_certs are used")
            ca_key = loaded
            ca_cert = x509.load_pem_x509_certificate(ca_crt.read_bytes())
        else:
            raise FileNotFoundError(
                f"{d} has ca.crt but no ca.key: cannot issue {SERVER_CERT}; copy the server "
                "pair too or use an empty directory"
            )
        key, cert = _leaf(ca_key, ca_cert, "KusciaAPI")
        _write(srv_key, _key_pem(key), private=True)
        _write(srv_crt, cert.public_bytes(serialization.Encoding.PEM))
    token = d / TOKEN
    if not token.exists():
        value = "".join(secrets.choice(TOKEN_ALPHABET) for _ in range(32))
        _write(token, value.encode("ascii"), private=True)


def make_foreign_client_pair(out_dir: Path | str) -> tuple[Path, Path]:
    """A client cert/key signed by a CA the simulator does not trust (for refusal tests)."""
    d = Path(out_dir)
    d.mkdir(parents=True, exist_ok=True)
    ca_key, ca_cert = _new_ca("SomeOtherCA")
    key, cert = _leaf(ca_key, ca_cert, "KusciaAPIClient")
    crt_path, key_path = d / "foreign-client.crt", d / "foreign-client.key"
    _write(crt_path, cert.public_bytes(serialization.Encoding.PEM))
    _write(key_path, _key_pem(key), private=True)
    return crt_path, key_path


def read_token(cert_dir: Path | str) -> str:
    return (Path(cert_dir) / TOKEN).read_text(encoding="ascii")


@functools.cache
def _domain_key(domain_id: str) -> rsa.RSAPrivateKey:
    """One RSA key per domain and process (Kuscia's domain.key is RSA 2048)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _b64(pem: bytes) -> str:
    return base64.b64encode(pem).decode("ascii")


@functools.cache
def domain_keys(domain_id: str) -> tuple[str, str]:
    """(private key, public key) of a domain, each base64 of its PEM, as Kuscia's API gives
    key material. The private key is a secret."""
    key = _domain_key(domain_id)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.PKCS1
    )
    return _b64(private), _b64(public)


@functools.cache
def domain_cert(domain_id: str, days: int = 3650) -> str:
    """The domain's self-signed certificate (CN = domain id, valid `days` from now), base64
    of its PEM as in domain/query's `cert`."""
    key = _domain_key(domain_id)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, domain_id)])
    cert = _builder(name, name, key.public_key(), days).sign(key, hashes.SHA256())
    return _b64(cert.public_bytes(serialization.Encoding.PEM))

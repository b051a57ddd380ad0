"""An internal CA and the reverse proxy's server certificate, for a bureau without its own PKI.

    python -m ops.tls DIR --host fieldvault.bureau.example [--host 10.1.2.3 ...]

makes in DIR (keys 0600):
  ca.pem, ca.key          the internal CA (10 years). Devices pin ca.pem: the enrolment
                          answer hands it over when FV_TLS_CA_FILE names it.
  server.pem, server.key  the proxy's certificate for the hosts (397 days), signed by the CA
  fullchain.pem           server.pem followed by ca.pem (nginx `ssl_certificate`)

A second run keeps the CA and issues a new server certificate only when the hosts changed,
it expires within 30 days, or `--renew-server` is given. A bureau with its own certificate
skips this and points the proxy, FV_TLS_CERT_FILE and FV_TLS_CA_FILE at its files.
"""

from __future__ import annotations

import argparse
import datetime
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_DAYS = 3650
SERVER_DAYS = 397  # what browsers accept for a leaf certificate
RENEW_DAYS = 30


@dataclass(frozen=True)
class TlsFiles:
    directory: Path

    @property
    def ca(self) -> Path:
        return self.directory / "ca.pem"

    @property
    def ca_key(self) -> Path:
        return self.directory / "ca.key"

    @property
    def cert(self) -> Path:
        return self.directory / "server.pem"

    @property
    def key(self) -> Path:
        return self.directory / "server.key"

    @property
    def fullchain(self) -> Path:
        return self.directory / "fullchain.pem"


def _write(path: Path, data: bytes, mode: int) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    path.chmod(mode)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def ensure_ca(files: TlsFiles, *, name: str = "FieldVault internal CA") -> x509.Certificate:
    if files.ca.exists() and files.ca_key.exists():
        return x509.load_pem_x509_certificate(files.ca.read_bytes())
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write(files.ca_key, _key_pem(key), 0o600)
    _write(files.ca, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return cert


def _alt_names(hosts: list[str]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return names


def _needs_server(files: TlsFiles, hosts: list[str]) -> bool:
    if not (files.cert.exists() and files.key.exists()):
        return True
    cert = x509.load_pem_x509_certificate(files.cert.read_bytes())
    left = cert.not_valid_after_utc - datetime.datetime.now(datetime.UTC)
    present = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return left < datetime.timedelta(days=RENEW_DAYS) or set(present) != set(_alt_names(hosts))


def issue_server(
    files: TlsFiles, hosts: list[str], *, days: int = SERVER_DAYS, not_before_days: int = 0
) -> x509.Certificate:
    """A server certificate for `hosts` signed by the CA in `files` (made first if absent).
    `days`/`not_before_days` exist for tests of expiry (negative `days`: already expired)."""
    ca_cert = ensure_ca(files)
    ca_key = serialization.load_pem_private_key(files.ca_key.read_bytes(), password=None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    start = now - datetime.timedelta(days=not_before_days, minutes=5)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(ca=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(_alt_names(hosts)), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    leaf = cert.public_bytes(serialization.Encoding.PEM)
    _write(files.key, _key_pem(key), 0o600)
    _write(files.cert, leaf, 0o644)
    _write(files.fullchain, leaf + files.ca.read_bytes(), 0o644)
    return cert


def ensure_tls(directory: Path, hosts: list[str], *, renew: bool = False) -> TlsFiles:
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o755)  # certificates are public; the keys are 0600
    files = TlsFiles(directory)
    ensure_ca(files)
    if renew or _needs_server(files, hosts):
        issue_server(files, hosts)
    return files


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("directory", type=Path)
    parser.add_argument("--host", action="append", required=True, help="DNS name or IP (repeat)")
    parser.add_argument("--renew-server", action="store_true")
    args = parser.parse_args(argv)
    files = ensure_tls(args.directory, args.host, renew=args.renew_server)
    cert = x509.load_pem_x509_certificate(files.cert.read_bytes())
    print(
        f"CA {files.ca}; server certificate {files.cert} for {', '.join(args.host)} "
        f"until {cert.not_valid_after_utc.date()}"
    )


if __name__ == "__main__":
    main()

"""SeaweedFS's own security: mutual TLS on every port but S3, JWT signing for volume I/O.

`weed mini` (and each component of the scale-out layout) opens master, volume and filer
gRPC ports and master/volume HTTP ports besides S3. Unauthenticated, `weed shell` on any
of them deletes COMPLIANCE-locked versions behind S3's back. So at first start we make a
private CA and one certificate per component, and a `security.toml` that

- requires mutual TLS on every gRPC port (master, volume, filer, s3, admin, worker …) and
  makes every component present its certificate when it dials another;
- serves the master's, volume servers', filer's and admin's HTTP ports over HTTPS that
  verifies the client certificate against the same CA;
- signs volume reads and writes with JWT keys (the master hands them out over mTLS).

Everything lives under `<data dir>/security` (directory 0700, files 0600) and is reused on
the next start. `python -m ops.seaweed_security DIR` makes it without starting anything
(docker-compose's `seaweedfs-certs` step). The S3 port stays plain HTTP on loopback (or
behind the compose network), authenticated by S3 signatures.
"""

from __future__ import annotations

import argparse
import datetime
import ipaddress
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

COMPONENTS = ("master", "volume", "filer", "s3", "client", "admin", "worker")
# Each certificate is valid for these names: the loopback stack and the compose services.
DNS_NAMES = (
    "localhost",
    "seaweedfs-master",
    "seaweedfs-volume-1",
    "seaweedfs-volume-2",
    "seaweedfs-filer",
    "seaweedfs-s3",
)
VALIDITY = datetime.timedelta(days=3650)


@dataclass(frozen=True)
class SecurityFiles:
    directory: Path

    @property
    def config(self) -> Path:
        return self.directory / "security.toml"

    @property
    def ca(self) -> Path:
        return self.directory / "ca.crt"

    def cert(self, component: str) -> Path:
        return self.directory / f"{component}.crt"

    def key(self, component: str) -> Path:
        return self.directory / f"{component}.key"


def _write_private(path: Path, data: bytes) -> None:
    """Write a file readable by its owner only (created 0600, never briefly wider)."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    tmp.chmod(0o600)
    tmp.replace(path)


def _make_ca() -> tuple[object, object]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "FieldVault SeaweedFS CA")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
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
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _make_component(component: str, ca_key: object, ca_cert: object) -> tuple[bytes, bytes]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    assert isinstance(ca_cert, x509.Certificate)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    names: list[x509.GeneralName] = [x509.DNSName(name) for name in DNS_NAMES]
    names += [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    names += [x509.IPAddress(ipaddress.ip_address("::1"))]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, component)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return (
        cert.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )


def security_toml(files: SecurityFiles, *, read_key: str, write_key: str) -> str:
    """security.toml naming the files as the components see them (`files.directory` may be
    where a container mounts the directory rather than where it was written)."""
    ca = files.ca
    lines = [
        "# Made by ops/seaweed_security.py at first start. Do not edit; delete the directory",
        "# to make new certificates and keys (every SeaweedFS component must then restart).",
        "",
        "[jwt.signing]",
        f'key = "{write_key}"',
        "expires_after_seconds = 10",
        "",
        "[jwt.signing.read]",
        f'key = "{read_key}"',
        "expires_after_seconds = 10",
        "",
        "[access]",
        "ui = false",
        "",
        "[filer.expose_directory_metadata]",
        "enabled = false",
        "",
        "[grpc]",
        f'ca = "{ca}"',
        "",
    ]
    for component in ("master", "volume", "filer", "s3", "admin", "worker"):
        lines += [
            f"[grpc.{component}]",
            f'cert = "{files.cert(component)}"',
            f'key = "{files.key(component)}"',
            "",
        ]
    lines += [
        "[grpc.client]",
        f'cert = "{files.cert("client")}"',
        f'key = "{files.key("client")}"',
        "",
        "[https.client]",
        "enabled = true",
        f'cert = "{files.cert("client")}"',
        f'key = "{files.key("client")}"',
        f'ca = "{ca}"',
        "",
    ]
    for component in ("master", "volume", "filer", "admin"):
        lines += [
            f"[https.{component}]",
            f'cert = "{files.cert(component)}"',
            f'key = "{files.key(component)}"',
            f'ca = "{ca}"',
            "",
        ]
    return "\n".join(lines)


def ensure_security(
    data_dir: Path, *, seen_at: Path | None = None, owner: tuple[int, int] | None = None
) -> SecurityFiles:
    """The CA, component certificates, JWT keys and security.toml under data_dir/security.

    Made once (atomically per file, 0600); an existing complete set is reused unchanged,
    so restarts keep the same keys. `seen_at`: where the SeaweedFS processes find that
    directory (a container's mount point); `owner`: uid, gid to give the files (the
    SeaweedFS image runs as uid 1000).
    """
    from cryptography.hazmat.primitives import serialization

    files = SecurityFiles(data_dir / "security")
    files.directory.mkdir(parents=True, exist_ok=True)
    files.directory.chmod(0o700)
    wanted = [files.config, files.ca] + [files.cert(c) for c in COMPONENTS]
    if all(path.exists() for path in wanted):
        return files
    ca_key, ca_cert = _make_ca()
    from cryptography import x509

    assert isinstance(ca_cert, x509.Certificate)
    _write_private(files.ca, ca_cert.public_bytes(serialization.Encoding.PEM))
    for component in COMPONENTS:
        cert, key = _make_component(component, ca_key, ca_cert)
        _write_private(files.key(component), key)
        _write_private(files.cert(component), cert)
    # The CA's private key is not kept: nothing can mint a further certificate.
    _write_private(
        files.config,
        security_toml(
            SecurityFiles(seen_at) if seen_at else files,
            read_key=secrets.token_urlsafe(32),
            write_key=secrets.token_urlsafe(32),
        ).encode(),
    )
    if owner is not None:
        for path in [files.directory, *files.directory.iterdir()]:
            os.chown(path, *owner)
    return files


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Make SeaweedFS's CA, certificates, JWT keys and security.toml under "
        "DIR/security (kept if already there)."
    )
    parser.add_argument("dir", type=Path)
    parser.add_argument(
        "--seen-at",
        type=Path,
        help="the directory's path inside the SeaweedFS containers (default: DIR/security)",
    )
    parser.add_argument("--owner", help="UID:GID to own the files (SeaweedFS image: 1000:1000)")
    args = parser.parse_args()
    owner = None
    if args.owner:
        uid, _, gid = args.owner.partition(":")
        owner = (int(uid), int(gid or uid))
    files = ensure_security(args.dir, seen_at=args.seen_at, owner=owner)
    print(f"SeaweedFS security configuration: {files.config}")


if __name__ == "__main__":
    main()

"""A real local RFC 3161 Time-Stamp Authority: `openssl ts -reply` behind a tiny HTTP
handler, with a test CA (root + a TSA certificate with the critical timeStamping key
usage) made in its directory at first start. For tests and the embedded stack only; in
production FV_TSA_URL names a national or commercial TSA.

    python -m provenance.local_tsa --dir var/tsa --port 8318

POST an `application/timestamp-query` body to any path; the answer is the
`application/timestamp-reply`. `ca.pem` in the directory is the trust anchor.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import logging
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

logger = logging.getLogger("fieldvault.local_tsa")

POLICY_OID = "1.3.6.1.4.1.99999.1.1"  # a private arc: "FieldVault local test TSA"
MAX_QUERY_BYTES = 16 * 1024
CONFIG = """\
[ tsa ]
default_tsa = local
[ local ]
dir = {dir}
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.pem
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = {policy}
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "FieldVault test"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def authority_make(directory: Path) -> None:
    """The test CA and TSA certificate, once: an existing directory is reused as it is."""
    directory.mkdir(parents=True, exist_ok=True)
    if (directory / "tsa.pem").exists() and (directory / "ca.pem").exists():
        return
    # Valid from a day ago (clock-moved tests) for thirty years.
    not_before = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=1)
    not_after = not_before + datetime.timedelta(days=365 * 30)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("FieldVault test TSA root")
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
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
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    tsa_key = ec.generate_private_key(ec.SECP256R1())
    tsa = (
        x509.CertificateBuilder()
        .subject_name(_name("FieldVault local TSA"))
        .issuer_name(ca_name)
        .public_key(tsa_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    plain = serialization.NoEncryption()
    pkcs8 = serialization.PrivateFormat.PKCS8
    pem = serialization.Encoding.PEM
    (directory / "tsa.key").write_bytes(tsa_key.private_bytes(pem, pkcs8, plain))
    (directory / "tsa.key").chmod(0o600)
    (directory / "serial").write_text("01\n")
    (directory / "openssl.cnf").write_text(CONFIG.format(dir=directory, policy=POLICY_OID))
    (directory / "ca.pem").write_bytes(ca.public_bytes(pem))
    (directory / "tsa.pem").write_bytes(tsa.public_bytes(pem))
    # The CA key is not kept: nothing else is ever signed with it.


class LocalTSA:
    """Answers timestamp queries with `openssl ts -reply` (serialised: openssl keeps the
    serial number in a file)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory.resolve()
        authority_make(self.directory)
        self._lock = threading.Lock()

    @property
    def trust_anchor(self) -> Path:
        return self.directory / "ca.pem"

    def reply(self, query: bytes) -> bytes:
        with self._lock, tempfile.TemporaryDirectory(dir=self.directory) as scratch:
            query_path = Path(scratch) / "query.tsq"
            reply_path = Path(scratch) / "reply.tsr"
            query_path.write_bytes(query)
            result = subprocess.run(
                [
                    "openssl",
                    "ts",
                    "-reply",
                    "-config",
                    str(self.directory / "openssl.cnf"),
                    "-queryfile",
                    str(query_path),
                    "-out",
                    str(reply_path),
                ],
                capture_output=True,
                timeout=30,
                check=False,
            )
            if result.returncode != 0 or not reply_path.exists():
                raise ValueError(result.stderr.decode(errors="replace").strip()[-400:])
            return reply_path.read_bytes()


def _handler_for(tsa: LocalTSA) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if not 0 < length <= MAX_QUERY_BYTES:
                self.send_error(400, "a timestamp query of 1..16384 bytes is expected")
                return
            try:
                body = tsa.reply(self.rfile.read(length))
            except (ValueError, subprocess.SubprocessError) as exc:
                self.send_error(400, f"openssl ts -reply refused the query: {exc}"[:200])
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            logger.debug("local TSA: " + format, *args)

    return Handler


def server_make(directory: Path, *, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer((host, port), _handler_for(LocalTSA(directory)))
    server.daemon_threads = True
    return server


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--dir", required=True, type=Path)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8318)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    server = server_make(args.dir, host=args.host, port=args.port)
    logger.info(
        "local TSA on http://%s:%s/ (trust anchor %s)",
        args.host,
        server.server_address[1],
        args.dir.resolve() / "ca.pem",
    )
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


if __name__ == "__main__":
    main()

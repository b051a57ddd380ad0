"""RFC 3161 trusted timestamps through rfc3161-client: request, fetch, verify."""

from __future__ import annotations

import datetime
import hashlib
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from rfc3161_client import (
    HashAlgorithm,
    PKIStatus,
    TimestampRequestBuilder,
    VerificationError,
    VerifierBuilder,
    decode_timestamp_response,
)

QUERY_TYPE = "application/timestamp-query"
REPLY_TYPE = "application/timestamp-reply"


class TimestampUnavailable(Exception):
    """The TSA could not be reached or refused: the stamp waits for the next pass."""


class TimestampInvalid(Exception):
    """A token that does not verify (wrong digest, chain or signature)."""


@dataclass(frozen=True)
class Stamp:
    response: bytes  # the DER TimeStampResp, as the TSA sent it
    gen_time: datetime.datetime
    serial_number: int
    tsa_certificates: list[bytes]  # DER, as carried in the token


def stamp_request(data: bytes, *, url: str, timeout: float) -> Stamp:
    """Ask the TSA at `url` to timestamp SHA-256(`data`); the answer is checked against the
    request (status, digest, nonce) before it is returned."""
    request = (
        TimestampRequestBuilder()
        .data(data)
        .hash_algorithm(HashAlgorithm.SHA256)
        .nonce(nonce=True)
        .cert_request(cert_request=True)
        .build()
    )
    http = urllib.request.Request(  # noqa: S310 - the TSA URL is configuration
        url, data=request.as_bytes(), method="POST", headers={"Content-Type": QUERY_TYPE}
    )
    try:
        with urllib.request.urlopen(http, timeout=timeout) as answer:  # noqa: S310
            body = answer.read()
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        raise TimestampUnavailable(f"TSA {url} unreachable: {exc}") from exc
    try:
        response = decode_timestamp_response(body)
    except Exception as exc:
        raise TimestampUnavailable(f"TSA {url} answered something that is not a TSR") from exc
    if PKIStatus(response.status) not in (PKIStatus.GRANTED, PKIStatus.GRANTED_WITH_MODS):
        raise TimestampUnavailable(f"TSA {url} refused: status {response.status}")

    digest = hashlib.sha256(data).digest()
    if response.tst_info.message_imprint.message != digest:
        raise TimestampInvalid("the TSA stamped a different digest")
    if response.tst_info.nonce != request.nonce:
        raise TimestampInvalid("the TSA answered another request (nonce)")
    return stamp_describe(body)


def stamp_describe(response_der: bytes) -> Stamp:
    response = decode_timestamp_response(response_der)
    return Stamp(
        response=response_der,
        gen_time=response.tst_info.gen_time,
        serial_number=response.tst_info.serial_number,
        tsa_certificates=sorted(response.signed_data.certificates),
    )


def trust_anchors_load(path: str | Path) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(Path(path).read_bytes())


def stamp_verify(response_der: bytes, *, data: bytes, roots: list[x509.Certificate]) -> Stamp:
    """Verify that the token stamps SHA-256(`data`) and chains to one of `roots`."""
    try:
        response = decode_timestamp_response(response_der)
    except Exception as exc:
        raise TimestampInvalid("not a timestamp response") from exc
    builder = VerifierBuilder()
    for root in roots:
        builder = builder.add_root_certificate(root)
    try:
        builder.build().verify_message(response, data)
    except VerificationError as exc:
        raise TimestampInvalid(str(exc)) from exc
    return stamp_describe(response_der)

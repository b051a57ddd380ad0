"""tus 1.0.0 wire format: constants, header parsing and the one error shape.

Django-free on purpose: the protocol core is tested against a file-backed store and
served by a plain ASGI callable (see app.py for why it is not a Django view).
Every refusal is a `TusError` that becomes `{"code", "message", "details"}` JSON.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import datetime
from email.utils import format_datetime
from typing import Any

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = (
    "creation",
    "creation-with-upload",
    "creation-defer-length",
    "expiration",
    "checksum",
    "termination",
)
CHECKSUM_ALGORITHMS = ("sha256",)
OFFSET_CONTENT_TYPE = "application/offset+octet-stream"
MAX_METADATA_BYTES = 4096

# Non-negative decimal integer without sign, spaces or leading '+' (tus: "non-negative integer").
_DIGITS = re.compile(r"[0-9]{1,19}")
_METADATA_KEY = re.compile(r"[!-+\--~]+")  # printable ASCII except space and comma


class TusError(Exception):
    """A refusal with an HTTP status and the API's JSON error body."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}
        self.headers = headers or {}

    def as_body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details}


def parse_non_negative_int(value: str | None, *, header: str, code: str) -> int | None:
    """Parse a tus integer header; None when absent, TusError(400) when garbage."""
    if value is None:
        return None
    stripped = value.strip()
    if not _DIGITS.fullmatch(stripped):
        raise TusError(
            400,
            code,
            f"{header} 必须是非负整数 / {header} must be a non-negative integer",
            details={"header": header, "value": value[:64]},
        )
    return int(stripped)


def parse_metadata(value: str | None) -> dict[str, str]:
    """Parse Upload-Metadata: comma-separated `key base64value` pairs (value optional).

    Values are decoded as UTF-8 text; keys must be unique. Anything else is a 400.
    """
    if value is None or not value.strip():
        return {}
    if len(value) > MAX_METADATA_BYTES:
        raise TusError(
            400,
            "upload_metadata_too_large",
            "Upload-Metadata 过长 / Upload-Metadata is too large",
            details={"max_bytes": MAX_METADATA_BYTES},
        )
    result: dict[str, str] = {}
    for pair in value.split(","):
        parts = pair.strip().split(" ")
        key = parts[0]
        if len(parts) > 2 or not _METADATA_KEY.fullmatch(key):
            raise TusError(
                400,
                "invalid_upload_metadata",
                "Upload-Metadata 格式错误 / Upload-Metadata is malformed",
                details={"pair": pair[:64]},
            )
        if key in result:
            raise TusError(
                400,
                "invalid_upload_metadata",
                "Upload-Metadata 键重复 / Upload-Metadata repeats a key",
                details={"key": key},
            )
        raw = parts[1] if len(parts) == 2 else ""
        try:
            decoded = base64.b64decode(raw, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise TusError(
                400,
                "invalid_upload_metadata",
                "Upload-Metadata 的值必须是 Base64 编码的 UTF-8 文本 / "
                "Upload-Metadata values must be base64-encoded UTF-8",
                details={"key": key},
            ) from None
        result[key] = decoded
    return result


def encode_metadata(metadata: dict[str, str]) -> str:
    return ",".join(
        f"{key} {base64.b64encode(value.encode('utf-8')).decode('ascii')}".rstrip()
        for key, value in metadata.items()
    )


def parse_checksum(value: str | None) -> tuple[str, bytes] | None:
    """Parse `Upload-Checksum: <algorithm> <base64 digest>`; only sha256 is supported."""
    if value is None:
        return None
    parts = value.strip().split(" ")
    if len(parts) != 2 or not parts[0]:
        raise TusError(
            400,
            "invalid_upload_checksum",
            'Upload-Checksum 格式应为 "sha256 <base64>" / '
            'Upload-Checksum must be "sha256 <base64>"',
            details={"value": value[:100]},
        )
    algorithm, encoded = parts[0].lower(), parts[1]
    if algorithm not in CHECKSUM_ALGORITHMS:
        raise TusError(
            400,
            "unsupported_checksum_algorithm",
            "不支持的校验算法 / Unsupported checksum algorithm",
            details={"algorithm": parts[0][:32], "supported": list(CHECKSUM_ALGORITHMS)},
            headers={"Tus-Checksum-Algorithm": ",".join(CHECKSUM_ALGORITHMS)},
        )
    try:
        digest = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        digest = b""
    if len(digest) != 32:
        raise TusError(
            400,
            "invalid_upload_checksum",
            "Upload-Checksum 的值不是 Base64 编码的 SHA-256 摘要 / "
            "Upload-Checksum value is not a base64 SHA-256 digest",
            details={"value": value[:100]},
        )
    return algorithm, digest


def http_date(moment: datetime) -> str:
    """RFC 7231 IMF-fixdate, as tus wants for Upload-Expires."""
    return format_datetime(moment, usegmt=True)

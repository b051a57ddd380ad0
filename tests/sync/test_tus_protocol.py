"""The tus protocol core, driven in-process against the file-backed store (no Django).

Each test feeds the ASGI app real `http.request` chunks (including cut connections)
and checks the staging file and the persisted state on disk.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sync.tus.app import TusApp, TusConfig
from sync.tus.filestore import FileUploadStore
from sync.tus.protocol import TusError, parse_checksum, parse_metadata, parse_non_negative_int
from sync.tus.testing import AsgiResponse, asgi_request

PREFIX = "/api/sync/v1/uploads"
MAX = 10 * 1024 * 1024


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def checksum(data: bytes) -> str:
    return "sha256 " + base64.b64encode(hashlib.sha256(data).digest()).decode()


class Harness:
    def __init__(self, root: Path, **config: Any) -> None:
        self.root = root
        self.store = FileUploadStore(root=root, tokens={"tok-a": "device-a", "tok-b": "device-b"})
        self.app = TusApp(
            store=self.store,
            config=TusConfig(
                max_size=MAX,
                expires_after=timedelta(hours=1),
                buffer_bytes=64 * 1024,
                checkpoint_bytes=256 * 1024,
                **config,
            ),
        )

    def call(
        self,
        method: str,
        path: str = PREFIX + "/",
        *,
        token: str | None = "tok-a",
        headers: dict[str, str] | None = None,
        chunks: list[bytes] | None = None,
        disconnect: bool = False,
    ) -> AsgiResponse | None:
        all_headers = {"Tus-Resumable": "1.0.0"}
        if token:
            all_headers["Authorization"] = f"Bearer {token}"
        all_headers.update(headers or {})
        return asyncio.run(
            asgi_request(
                self.app, method, path, headers=all_headers, chunks=chunks, disconnect=disconnect
            )
        )

    def create(self, length: int | None = None, **headers: str) -> str:
        extra = {"Upload-Length": str(length)} if length is not None else {}
        response = self.call("POST", headers={**extra, **headers})
        assert response is not None and response.status == 201, response
        return response.headers["location"]

    def patch(
        self,
        url: str,
        offset: int,
        chunks: list[bytes],
        *,
        disconnect: bool = False,
        token: str = "tok-a",
        **headers: str,
    ) -> AsgiResponse | None:
        return self.call(
            "PATCH",
            url,
            token=token,
            headers={
                "Upload-Offset": str(offset),
                "Content-Type": "application/offset+octet-stream",
                **headers,
            },
            chunks=chunks,
            disconnect=disconnect,
        )

    def state(self, url: str) -> dict[str, Any]:
        upload_id = url.rsplit("/", 1)[1]
        return dict(json.loads((self.root / "state" / f"{upload_id}.json").read_text()))

    def staged(self, url: str) -> bytes:
        return (self.root / "staging" / f"{url.rsplit('/', 1)[1]}.bin").read_bytes()


@pytest.fixture
def tus(tmp_path: Path) -> Harness:
    return Harness(tmp_path)


def expect_error(response: AsgiResponse | None, status: int, code: str) -> dict[str, Any]:
    assert response is not None, "expected a response"
    assert response.status == status, response
    assert response.headers["tus-resumable"] == "1.0.0"
    if not response.body:  # HEAD: status and headers only
        return {}
    body = response.json()
    assert body["code"] == code, body
    assert set(body) == {"code", "message", "details"}
    assert response.headers["tus-resumable"] == "1.0.0"
    return dict(body)


# ---------------------------------------------------------------- header parsing
@pytest.mark.parametrize("value", ["-1", "1.5", "abc", "", " ", "+3", "0x10", "1e3", "9" * 20])
def test_integer_headers_refuse_garbage(value: str) -> None:
    with pytest.raises(TusError) as caught:
        parse_non_negative_int(value, header="Upload-Offset", code="invalid_upload_offset")
    assert caught.value.status == 400 and caught.value.code == "invalid_upload_offset"


def test_metadata_parses_base64_pairs_and_refuses_garbage() -> None:
    assert parse_metadata(f"filename {b64('录像.mp4')},is_confidential") == {
        "filename": "录像.mp4",
        "is_confidential": "",
    }
    for bad in ["filename not*base64", f"a {b64('x')},a {b64('y')}", "bad key x", "k,v w x"]:
        with pytest.raises(TusError) as caught:
            parse_metadata(bad)
        assert caught.value.code == "invalid_upload_metadata"


def test_checksum_header() -> None:
    assert parse_checksum(checksum(b"x")) == ("sha256", hashlib.sha256(b"x").digest())
    with pytest.raises(TusError) as caught:
        parse_checksum("md5 " + base64.b64encode(b"0" * 16).decode())
    assert caught.value.status == 400
    assert caught.value.code == "unsupported_checksum_algorithm"
    assert caught.value.headers["Tus-Checksum-Algorithm"] == "sha256"
    for bad in ["sha256", "sha256 !!!", "sha256 " + base64.b64encode(b"short").decode()]:
        with pytest.raises(TusError) as caught:
            parse_checksum(bad)
        assert caught.value.code == "invalid_upload_checksum"


# ---------------------------------------------------------------- core protocol
def test_options_announces_version_extensions_max_size_and_checksums(tus: Harness) -> None:
    response = tus.call("OPTIONS", token=None, headers={"Tus-Resumable": ""})
    assert response is not None and response.status == 204
    assert response.headers["tus-version"] == "1.0.0"
    assert set(response.headers["tus-extension"].split(",")) == {
        "creation",
        "creation-with-upload",
        "creation-defer-length",
        "expiration",
        "checksum",
        "termination",
    }
    assert response.headers["tus-max-size"] == str(MAX)
    assert response.headers["tus-checksum-algorithm"] == "sha256"


def test_create_patch_head_complete(tus: Harness) -> None:
    data = os.urandom(300_000)
    url = tus.create(len(data), **{"Upload-Metadata": f"filename {b64('a.mp4')}"})
    head = tus.call("HEAD", url)
    assert head is not None and head.status == 200
    assert head.headers["upload-offset"] == "0"
    assert head.headers["upload-length"] == str(len(data))
    assert head.headers["cache-control"] == "no-store"
    assert "upload-expires" in head.headers
    assert head.body == b""

    first = tus.patch(url, 0, [data[:100_000], data[100_000:150_000]])
    assert first is not None and first.status == 204
    assert first.headers["upload-offset"] == "150000"
    assert "upload-expires" in first.headers
    second = tus.patch(url, 150_000, [data[150_000:200_000], data[200_000:]])
    assert second is not None and second.status == 204
    assert second.headers["upload-offset"] == str(len(data))
    assert tus.staged(url) == data
    state = tus.state(url)
    assert state["status"] == "complete"
    assert state["sha256"] == hashlib.sha256(data).hexdigest()
    assert state["lock_token"] is None


def test_wrong_offset_is_409_and_nothing_is_written(tus: Harness) -> None:
    url = tus.create(10)
    assert tus.patch(url, 0, [b"abc"]) is not None
    expect_error(tus.patch(url, 0, [b"xyz"]), 409, "offset_mismatch")
    body = expect_error(tus.patch(url, 5, [b"xyz"]), 409, "offset_mismatch")
    assert body["details"]["expected_offset"] == 3
    assert tus.staged(url) == b"abc"


def test_a_resend_from_below_the_offset_is_verified_never_rewritten(tus: Harness) -> None:
    """A device answered by HEAD before its cut request was read resumes from below the
    offset: the bytes up to the offset must equal the staged ones (then the rest is
    appended, no 409 round trip); one differing byte is 409 with nothing touched."""
    data = os.urandom(300_000)
    url = tus.create(len(data))
    assert tus.patch(url, 0, [data[:100_000]], disconnect=True) is None  # the cut request
    assert tus.state(url)["offset"] == 100_000
    tampered = bytearray(data[40_000:])
    tampered[59_999] ^= 1  # the staged byte at 99,999
    body = expect_error(tus.patch(url, 40_000, [bytes(tampered)]), 409, "offset_mismatch")
    assert body["details"] == {"expected_offset": 100_000, "upload_offset": 40_000}
    assert tus.staged(url) == data[:100_000] and tus.state(url)["offset"] == 100_000
    # With a request checksum the request is one unit: no resend, the plain 409.
    expect_error(
        tus.patch(url, 40_000, [data[40_000:]], **{"Upload-Checksum": checksum(data[40_000:])}),
        409,
        "offset_mismatch",
    )
    response = tus.patch(url, 40_000, [data[40_000:150_000], data[150_000:]])
    assert response is not None and response.status == 204, response
    assert response.headers["upload-offset"] == str(len(data))
    assert tus.staged(url) == data
    assert tus.state(url)["sha256"] == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({"Tus-Resumable": ""}, 412, "unsupported_tus_version"),
        ({"Tus-Resumable": "0.2.2"}, 412, "unsupported_tus_version"),
        ({"Content-Type": "application/octet-stream"}, 415, "unsupported_content_type"),
        ({"Upload-Offset": "-1"}, 400, "invalid_upload_offset"),
        ({"Upload-Offset": "zero"}, 400, "invalid_upload_offset"),
        (
            {"Upload-Checksum": "md5 AAAAAAAAAAAAAAAAAAAAAA=="},
            400,
            "unsupported_checksum_algorithm",
        ),
        ({"Upload-Checksum": "sha256 nope"}, 400, "invalid_upload_checksum"),
        ({"Upload-Length": "99"}, 400, "upload_length_immutable"),
    ],
)
def test_bad_patch_headers_are_precise_400s(
    tus: Harness, headers: dict[str, str], status: int, code: str
) -> None:
    url = tus.create(10)
    tus.patch(url, 0, [b"12345"])
    body = expect_error(tus.patch(url, 5, [b"abcde"], **headers), status, code)
    if code == "unsupported_checksum_algorithm":
        assert body["details"]["supported"] == ["sha256"]
    assert tus.staged(url) == b"12345"
    assert tus.state(url)["offset"] == 5


def test_missing_headers(tus: Harness) -> None:
    expect_error(tus.call("POST", headers={"Tus-Resumable": ""}), 412, "unsupported_tus_version")
    response = tus.call("POST", headers={"Tus-Resumable": "1.0.0"}, token=None)
    expect_error(response, 401, "not_authenticated")
    expect_error(tus.call("POST"), 400, "missing_upload_length")
    expect_error(
        tus.call("POST", headers={"Upload-Length": "5", "Upload-Defer-Length": "1"}),
        400,
        "conflicting_upload_length",
    )
    expect_error(
        tus.call("POST", headers={"Upload-Defer-Length": "2"}), 400, "invalid_upload_defer_length"
    )
    expect_error(
        tus.call("POST", headers={"Upload-Length": "5", "Upload-Metadata": "k %%%"}),
        400,
        "invalid_upload_metadata",
    )
    url = tus.create(5)
    response = tus.call("PATCH", url, headers={"Content-Type": "application/offset+octet-stream"})
    expect_error(response, 400, "missing_upload_offset")
    missing_version = tus.call("HEAD", url, headers={"Tus-Resumable": ""})
    assert missing_version is not None and missing_version.status == 412
    assert missing_version.headers["tus-version"] == "1.0.0"


def test_unknown_token_and_other_devices_upload(tus: Harness) -> None:
    url = tus.create(5)
    expect_error(tus.call("HEAD", url, token="nope"), 401, "invalid_token")
    expect_error(tus.call("HEAD", url, token="tok-b"), 404, "upload_not_found")
    expect_error(tus.patch(url, 0, [b"x"], token="tok-b"), 404, "upload_not_found")
    expect_error(tus.call("DELETE", url, token="tok-b"), 404, "upload_not_found")
    assert tus.state(url)["offset"] == 0
    for bad_path in [PREFIX + "/../../etc/passwd", PREFIX + "/not-a-uuid", PREFIX + "/%2e%2e"]:
        expect_error(tus.call("HEAD", bad_path), 404, "upload_not_found")
    expect_error(tus.call("HEAD", f"{PREFIX}/{uuid.uuid4()}"), 404, "upload_not_found")


def test_upload_length_above_maximum_is_413(tus: Harness) -> None:
    body = expect_error(
        tus.call("POST", headers={"Upload-Length": str(MAX + 1)}), 413, "upload_too_large"
    )
    assert body["details"]["max_bytes"] == MAX
    url = tus.create(None, **{"Upload-Defer-Length": "1"})
    response = tus.patch(url, 0, [b"ab"], **{"Upload-Length": str(MAX + 1)})
    expect_error(response, 413, "upload_too_large")


def test_body_past_upload_length_is_refused_and_nothing_past_it_is_written(tus: Harness) -> None:
    url = tus.create(10)
    assert tus.patch(url, 0, [b"12345"]) is not None
    # Declared too long: refused before a byte is read.
    response = tus.patch(url, 5, [b"abcdefgh"], **{"Content-Length": "8"})
    expect_error(response, 413, "upload_length_exceeded")
    # Chunked body that turns out too long: the request's bytes are discarded.
    expect_error(tus.patch(url, 5, [b"abc", b"defgh"]), 413, "upload_length_exceeded")
    assert tus.staged(url) == b"12345"
    assert tus.state(url)["offset"] == 5
    assert tus.patch(url, 5, [b"abcde"]) is not None
    assert tus.state(url)["status"] == "complete"


def test_checksum_per_request(tus: Harness) -> None:
    data = os.urandom(200_000)
    url = tus.create(len(data))
    ok = tus.patch(url, 0, [data[:100_000]], **{"Upload-Checksum": checksum(data[:100_000])})
    assert ok is not None and ok.status == 204
    wrong = tus.patch(
        url,
        100_000,
        [data[100_000:150_000], data[150_000:]],
        **{"Upload-Checksum": checksum(b"no")},
    )
    expect_error(wrong, 460, "checksum_mismatch")
    assert tus.state(url)["offset"] == 100_000
    assert tus.staged(url) == data[:100_000]
    final = tus.patch(
        url, 100_000, [data[100_000:]], **{"Upload-Checksum": checksum(data[100_000:])}
    )
    assert final is not None and final.status == 204
    assert tus.state(url)["sha256"] == hashlib.sha256(data).hexdigest()


def test_creation_with_upload_and_defer_length(tus: Harness) -> None:
    data = os.urandom(150_000)
    response = tus.call(
        "POST",
        headers={
            "Upload-Defer-Length": "1",
            "Content-Type": "application/offset+octet-stream",
            "Content-Length": "100000",
        },
        chunks=[data[:60_000], data[60_000:100_000]],
    )
    assert response is not None and response.status == 201, response
    assert response.headers["upload-offset"] == "100000"
    assert response.headers["upload-defer-length"] == "1"
    url = response.headers["location"]
    head = tus.call("HEAD", url)
    assert head is not None and head.headers["upload-defer-length"] == "1"
    done = tus.patch(url, 100_000, [data[100_000:]], **{"Upload-Length": str(len(data))})
    assert done is not None and done.status == 204
    assert done.headers["upload-length"] == str(len(data))
    assert tus.state(url)["sha256"] == hashlib.sha256(data).hexdigest()
    empty = tus.call("POST", headers={"Upload-Length": "0"})
    assert empty is not None and empty.status == 201
    assert tus.state(empty.headers["location"])["status"] == "complete"


def test_cut_connection_keeps_received_bytes_and_resumes(tus: Harness) -> None:
    data = os.urandom(700_000)
    url = tus.create(len(data))
    # Three chunks arrive, then the client vanishes: all three are kept (past a checkpoint).
    assert (
        tus.patch(
            url, 0, [data[:300_000], data[300_000:400_000], data[400_000:450_000]], disconnect=True
        )
        is None
    )
    assert tus.state(url)["offset"] == 450_000
    assert tus.state(url)["lock_token"] is None
    # A fresh app (a restarted process: no cached hash state) re-hashes the prefix.
    restarted = Harness(tus.root)
    head = restarted.call("HEAD", url)
    assert head is not None and head.headers["upload-offset"] == "450000"
    assert restarted.patch(url, 450_000, [data[450_000:]]) is not None
    assert restarted.state(url)["sha256"] == hashlib.sha256(data).hexdigest()


def test_cut_connection_with_checksum_discards_the_request(tus: Harness) -> None:
    url = tus.create(10)
    assert (
        tus.patch(url, 0, [b"12345"], disconnect=True, **{"Upload-Checksum": checksum(b"12345")})
        is None
    )
    assert tus.state(url)["offset"] == 0
    assert tus.staged(url) == b""


def test_resume_truncates_unpersisted_tail(tus: Harness) -> None:
    """Bytes past the persisted offset (a kill -9 between write and checkpoint) are cut."""
    data = os.urandom(1000)
    url = tus.create(len(data))
    tus.patch(url, 0, [data[:400]])
    staging = tus.root / "staging" / f"{url.rsplit('/', 1)[1]}.bin"
    with staging.open("ab") as handle:
        handle.write(b"garbage never acknowledged" * 100)  # reaches past the final length
    fresh = Harness(tus.root)
    assert fresh.patch(url, 400, [data[400:]]) is not None
    assert fresh.staged(url) == data
    assert fresh.state(url)["sha256"] == hashlib.sha256(data).hexdigest()


def test_concurrent_patch_gets_423_and_file_is_intact(tus: Harness) -> None:
    data = os.urandom(200_000)
    url = tus.create(len(data))
    upload_id = uuid.UUID(url.rsplit("/", 1)[1])
    # Another process holds the lease (what a PATCH in flight elsewhere looks like).
    other = uuid.uuid4()
    held = asyncio.run(
        tus.store.acquire_lock(
            caller=asyncio.run(tus.store.authenticate(token="tok-a")),  # type: ignore[arg-type]
            upload_id=upload_id,
            token=other,
            lease_until=datetime.now(UTC) + timedelta(seconds=30),
        )
    )
    assert held is not None
    expect_error(tus.patch(url, 0, [data]), 423, "upload_locked")
    expect_error(tus.call("DELETE", url), 423, "upload_locked")
    assert not (tus.root / "staging" / f"{upload_id}.bin").exists()
    asyncio.run(tus.store.release_lock(upload_id=upload_id, token=other))
    assert tus.patch(url, 0, [data]) is not None
    assert tus.staged(url) == data


def test_two_patches_racing_in_one_process(tus: Harness) -> None:
    data = os.urandom(400_000)
    url = tus.create(len(data))
    headers = {
        "Tus-Resumable": "1.0.0",
        "Authorization": "Bearer tok-a",
        "Upload-Offset": "0",
        "Content-Type": "application/offset+octet-stream",
    }
    chunks = [data[i : i + 50_000] for i in range(0, len(data), 50_000)]

    async def race() -> list[AsgiResponse | None]:
        return list(
            await asyncio.gather(
                asgi_request(tus.app, "PATCH", url, headers=headers, chunks=chunks),
                asgi_request(tus.app, "PATCH", url, headers=headers, chunks=chunks),
            )
        )

    statuses = sorted(r.status for r in asyncio.run(race()) if r is not None)
    assert statuses in ([204, 409], [204, 423]), statuses
    assert tus.staged(url) == data
    assert tus.state(url)["sha256"] == hashlib.sha256(data).hexdigest()


def test_termination_and_expiry(tus: Harness) -> None:
    url = tus.create(10)
    tus.patch(url, 0, [b"12345"])
    response = tus.call("DELETE", url)
    assert response is not None and response.status == 204
    assert not (tus.root / "staging" / f"{url.rsplit('/', 1)[1]}.bin").exists()
    expect_error(tus.call("HEAD", url), 404, "upload_not_found")
    expect_error(tus.patch(url, 5, [b"abcde"]), 404, "upload_not_found")

    expired = Harness(tus.root)
    expired.app.config = TusConfig(max_size=MAX, expires_after=timedelta(seconds=-1))
    old = expired.create(10)
    head = tus.call("HEAD", old)
    expect_error(head, 410, "upload_expired")
    expect_error(tus.patch(old, 0, [b"x"]), 410, "upload_expired")

    done = tus.create(3)
    tus.patch(done, 0, [b"abc"])
    expect_error(tus.call("DELETE", done), 409, "upload_complete")
    assert tus.staged(done) == b"abc"


def test_metadata_file_names_never_reach_the_disk(tus: Harness) -> None:
    tricks = ["../../../../tmp/evil", "/etc/passwd", "..\\..\\x", "a\x00b", "名字/../../x"]
    for name in tricks:
        url = tus.create(4, **{"Upload-Metadata": f"filename {b64(name)}"})
        tus.patch(url, 0, [b"data"])
        assert tus.state(url)["metadata"]["filename"] == name
    staged = sorted(p.name for p in (tus.root / "staging").iterdir())
    # Each staged file and its fence (the lease generation allowed to touch it).
    assert all(
        name.endswith((".bin", ".fence")) and uuid.UUID(name.rsplit(".", 1)[0]) for name in staged
    )
    assert len(staged) == 2 * len(tricks)
    assert not Path("/tmp/evil").exists()


def test_alternating_processes_never_reuse_a_stale_hash_state(tus: Harness) -> None:
    """Process A caches its hash at 100 kB; B writes on; A must not reuse the old state."""
    other = Harness(tus.root)
    data = os.urandom(300_000)
    url = tus.create(len(data))
    assert tus.patch(url, 0, [data[:100_000]]) is not None
    assert other.patch(url, 100_000, [data[100_000:200_000]]) is not None
    done = tus.patch(url, 200_000, [data[200_000:]])
    assert done is not None and done.status == 204
    assert tus.state(url)["sha256"] == hashlib.sha256(data).hexdigest()

"""Deterministic derivative keys and the streaming hash."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from media.hashing import sha256_file
from media.profiles import ALL_PROFILES, POSTER, PROXY_VIDEO, Profile, derivative_key

SHA = "ab" + "0" * 62


def test_key_layout() -> None:
    assert derivative_key(SHA, PROXY_VIDEO) == f"derivatives/ab/{SHA}/proxy-720p-v1.mp4"
    assert derivative_key(SHA, "poster") == f"derivatives/ab/{SHA}/poster-v1.jpg"
    assert derivative_key(SHA.upper(), POSTER, "JPG") == derivative_key(SHA, POSTER)


def test_new_version_gets_new_key() -> None:
    bumped = Profile(PROXY_VIDEO.name, PROXY_VIDEO.version + 1, "mp4", "video/mp4")
    assert derivative_key(SHA, bumped) != derivative_key(SHA, PROXY_VIDEO)


def test_all_profiles_have_distinct_keys() -> None:
    keys = {derivative_key(SHA, profile) for profile in ALL_PROFILES}
    assert len(keys) == len(ALL_PROFILES)


@pytest.mark.parametrize(
    ("sha", "profile", "ext"),
    [
        ("abc", "poster", None),
        (SHA, "nope", None),
        (SHA, "poster", "../x"),
        ("g" * 64, "poster", None),
    ],
)
def test_invalid_input_rejected(sha: str, profile: str, ext: str | None) -> None:
    with pytest.raises(ValueError):
        derivative_key(sha, profile, ext)


def test_invalid_profile_definition() -> None:
    with pytest.raises(ValueError):
        Profile("Bad Name", 1, "mp4", "video/mp4")
    with pytest.raises(ValueError):
        Profile("ok", 0, "mp4", "video/mp4")


@given(st.binary(max_size=5000), st.integers(min_value=1, max_value=700))
def test_sha256_file_matches_hashlib(
    tmp_path_factory: pytest.TempPathFactory, data: bytes, chunk: int
) -> None:
    path = tmp_path_factory.mktemp("h") / "f.bin"
    path.write_bytes(data)
    assert sha256_file(path, chunk_size=chunk) == hashlib.sha256(data).hexdigest()


def test_sha256_file_rejects_bad_chunk(tmp_path: Path) -> None:
    (tmp_path / "x").write_bytes(b"x")
    with pytest.raises(ValueError):
        sha256_file(tmp_path / "x", chunk_size=0)

"""Derivative profiles and their deterministic storage keys.

A key depends only on the original's SHA-256, the profile name and the profile version, so
processing the same original twice writes the same keys (no duplicates) and a profile
change (new version) writes new keys instead of overwriting the old derivatives.
Bump a profile's version whenever its output would change (arguments, size, quality).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_EXTENSION = re.compile(r"^[a-z0-9]{1,8}$")
_PROFILE_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,40}$")


@dataclass(frozen=True)
class Profile:
    """One kind of derivative: its name, version, file extension and HTTP content type."""

    name: str
    version: int
    ext: str
    content_type: str

    def __post_init__(self) -> None:
        if not _PROFILE_NAME.match(self.name):
            raise ValueError(f"invalid profile name {self.name!r}")
        if self.version < 1:
            raise ValueError("profile version must be >= 1")
        if not _EXTENSION.match(self.ext):
            raise ValueError(f"invalid extension {self.ext!r}")

    @property
    def filename(self) -> str:
        """File name of this derivative: ``<profile>-v<version>.<ext>``."""
        return f"{self.name}-v{self.version}.{self.ext}"


PROXY_VIDEO = Profile("proxy-720p", 1, "mp4", "video/mp4")
PROXY_AUDIO = Profile("proxy-audio", 1, "m4a", "audio/mp4")
POSTER = Profile("poster", 1, "jpg", "image/jpeg")
THUMBNAIL_STRIP = Profile("thumb-strip", 1, "jpg", "image/jpeg")
WAVEFORM = Profile("waveform", 1, "png", "image/png")
PHOTO_DISPLAY = Profile("photo-1920", 1, "jpg", "image/jpeg")
PHOTO_THUMBNAIL = Profile("photo-320", 1, "jpg", "image/jpeg")
SALVAGED_VIDEO = Profile("salvaged", 1, "mp4", "video/mp4")

ALL_PROFILES: tuple[Profile, ...] = (
    PROXY_VIDEO,
    PROXY_AUDIO,
    POSTER,
    THUMBNAIL_STRIP,
    WAVEFORM,
    PHOTO_DISPLAY,
    PHOTO_THUMBNAIL,
    SALVAGED_VIDEO,
)
PROFILES_BY_NAME: dict[str, Profile] = {profile.name: profile for profile in ALL_PROFILES}


def derivative_key(original_sha256: str, profile: Profile | str, ext: str | None = None) -> str:
    """Object key for one derivative of one original.

    ``derivatives/<sha[:2]>/<sha>/<profile>-v<version>.<ext>``. ``profile`` is a
    :class:`Profile` or a registered profile name; ``ext`` defaults to the profile's.
    Raises ValueError for a malformed hash, unknown profile name or extension.
    """
    sha = original_sha256.lower()
    if not _SHA256.match(sha):
        raise ValueError("original_sha256 must be 64 hex characters")
    if isinstance(profile, str):
        if profile not in PROFILES_BY_NAME:
            raise ValueError(f"unknown profile {profile!r}")
        profile = PROFILES_BY_NAME[profile]
    extension = (ext or profile.ext).lower().lstrip(".")
    if not _EXTENSION.match(extension):
        raise ValueError(f"invalid extension {extension!r}")
    return f"derivatives/{sha[:2]}/{sha}/{profile.name}-v{profile.version}.{extension}"

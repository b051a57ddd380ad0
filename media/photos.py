"""Photos (JPEG, PNG, ...): EXIF capture time and GPS, and orientation-correct derivatives.

The original is only read. Derivatives are written with the EXIF orientation applied to the
pixels (so every viewer shows them upright) and without EXIF (no double rotation, and the
GPS position stays with the original, which access rules protect).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from PIL import ExifTags, Image, ImageOps

DISPLAY_MAX_SIDE = 1920
THUMBNAIL_MAX_SIDE = 320
JPEG_QUALITY = 85

_EXIF_DATETIME = "%Y:%m:%d %H:%M:%S"


@dataclass(frozen=True)
class PhotoMetadata:
    """What a photo says about itself.

    ``taken_at_local`` is the camera's wall-clock time exactly as written (naive);
    ``utc_offset`` is known only when the camera wrote ``OffsetTimeOriginal``. Width and
    height are as displayed, i.e. after the EXIF orientation is applied.
    """

    format: str
    width: int
    height: int
    orientation: int
    taken_at_local: datetime | None
    utc_offset: timedelta | None
    gps_latitude: float | None
    gps_longitude: float | None
    gps_altitude_m: float | None

    @property
    def taken_at(self) -> datetime | None:
        """Aware capture time when the photo carries its UTC offset, else None."""
        if self.taken_at_local is None or self.utc_offset is None:
            return None
        return self.taken_at_local.replace(tzinfo=timezone(self.utc_offset))

    def taken_at_assuming(self, zone: Any) -> datetime | None:
        """Aware capture time, using ``zone`` (a tzinfo) when the photo has no offset."""
        if self.taken_at_local is None:
            return None
        return self.taken_at or self.taken_at_local.replace(tzinfo=zone)


def parse_exif_datetime(raw: Any) -> datetime | None:
    """Parse an EXIF ``YYYY:MM:DD HH:MM:SS`` value; None for blank or invalid values."""
    if not isinstance(raw, str):
        return None
    text = raw.strip().rstrip("\x00")
    try:
        return datetime.strptime(text[:19], _EXIF_DATETIME)
    except ValueError:
        return None


def parse_exif_offset(raw: Any) -> timedelta | None:
    """Parse an EXIF ``OffsetTime*`` value such as ``+08:00``."""
    if not isinstance(raw, str):
        return None
    text = raw.strip().rstrip("\x00")
    if len(text) != 6 or text[0] not in "+-" or text[3] != ":":
        return None
    try:
        hours, minutes = int(text[1:3]), int(text[4:6])
    except ValueError:
        return None
    if hours > 14 or minutes >= 60:
        return None
    delta = timedelta(hours=hours, minutes=minutes)
    return -delta if text[0] == "-" else delta


def dms_to_degrees(dms: Any, ref: Any) -> float | None:
    """Convert EXIF degrees/minutes/seconds rationals plus N/S/E/W to signed decimal degrees."""
    try:
        degrees, minutes, seconds = (float(part) for part in dms)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    value = degrees + minutes / 60 + seconds / 3600
    if isinstance(ref, bytes):
        ref = ref.decode("ascii", "ignore")
    if isinstance(ref, str) and ref.strip().upper() in ("S", "W"):
        value = -value
    return round(value, 7)


def read_photo_metadata(path: str | Path) -> PhotoMetadata:
    """Read format, displayed size, orientation, capture time and GPS from a photo.

    Works for images without EXIF (PNG): times and GPS are then None. Only the header and
    EXIF are parsed; pixels are not decoded.
    """
    with Image.open(path) as image:
        exif = image.getexif()
        orientation = int(exif.get(ExifTags.Base.Orientation, 1) or 1)
        width, height = image.size
        if orientation in (5, 6, 7, 8):  # 90° turns swap the displayed sides
            width, height = height, width
        exif_ifd = exif.get_ifd(ExifTags.IFD.Exif)
        raw_time = exif_ifd.get(ExifTags.Base.DateTimeOriginal) or exif.get(ExifTags.Base.DateTime)
        raw_offset = exif_ifd.get(ExifTags.Base.OffsetTimeOriginal) or exif_ifd.get(
            ExifTags.Base.OffsetTime
        )
        gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
        latitude = longitude = altitude = None
        if gps:
            latitude = dms_to_degrees(
                gps.get(ExifTags.GPS.GPSLatitude), gps.get(ExifTags.GPS.GPSLatitudeRef)
            )
            longitude = dms_to_degrees(
                gps.get(ExifTags.GPS.GPSLongitude), gps.get(ExifTags.GPS.GPSLongitudeRef)
            )
            raw_altitude = gps.get(ExifTags.GPS.GPSAltitude)
            if raw_altitude is not None:
                try:
                    altitude = float(raw_altitude)
                except (TypeError, ValueError, ZeroDivisionError):
                    altitude = None
                if altitude is not None and gps.get(ExifTags.GPS.GPSAltitudeRef) in (1, b"\x01"):
                    altitude = -altitude
        return PhotoMetadata(
            format=str(image.format or "unknown").lower(),
            width=width,
            height=height,
            orientation=orientation,
            taken_at_local=parse_exif_datetime(raw_time),
            utc_offset=parse_exif_offset(raw_offset),
            gps_latitude=latitude,
            gps_longitude=longitude,
            gps_altitude_m=altitude,
        )


@dataclass(frozen=True)
class PhotoDerivative:
    """A written photo derivative."""

    path: Path
    width: int
    height: int


def make_photo_derivative(
    src: str | Path, dst: str | Path, *, max_side: int, quality: int = JPEG_QUALITY
) -> PhotoDerivative:
    """Write an upright JPEG of ``src`` whose longer side is at most ``max_side`` pixels.

    EXIF orientation is applied to the pixels; smaller images are not enlarged.
    """
    with Image.open(src) as image:
        upright = ImageOps.exif_transpose(image)
        if upright.mode not in ("RGB", "L"):
            background = Image.new("RGB", upright.size, (255, 255, 255))
            rgba = upright.convert("RGBA")
            background.paste(rgba, mask=rgba.getchannel("A"))
            upright = background
        upright.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
        upright.save(dst, "JPEG", quality=quality, optimize=True)
        return PhotoDerivative(path=Path(dst), width=upright.width, height=upright.height)


def make_display_image(src: str | Path, dst: str | Path) -> PhotoDerivative:
    """Display-size derivative (longer side ≤ 1920 px)."""
    return make_photo_derivative(src, dst, max_side=DISPLAY_MAX_SIDE)


def make_thumbnail(src: str | Path, dst: str | Path) -> PhotoDerivative:
    """Thumbnail derivative (longer side ≤ 320 px)."""
    return make_photo_derivative(src, dst, max_side=THUMBNAIL_MAX_SIDE)

"""Which ffmpeg (and ffprobe) this process runs.

Order: ``FV_FFMPEG`` when set, then the system's ``ffmpeg`` on PATH, then the static ffmpeg that
the ``imageio-ffmpeg`` wheel ships (ffmpeg 9 with libx264, aac and drawtext), so nothing needs
to be installed from the system to run or test FieldVault. Probing goes through PyAV, so
``ffprobe`` is optional: :func:`ffprobe_binary` is ``None`` when there is none.
"""

from __future__ import annotations

import functools
import os
import shutil
from pathlib import Path


class ToolMissing(RuntimeError):
    """No usable ffmpeg: neither FV_FFMPEG, nor PATH, nor the imageio-ffmpeg wheel."""


@functools.cache
def ffmpeg_binary() -> str:
    """The ffmpeg executable to run (a path, or ``ffmpeg`` found on PATH)."""
    configured = os.environ.get("FV_FFMPEG", "").strip()
    if configured:
        found = shutil.which(configured)
        if not found:
            raise ToolMissing(f"FV_FFMPEG={configured} is not an executable")
        return found
    system = shutil.which("ffmpeg")
    if system:
        return system
    try:
        import imageio_ffmpeg  # type: ignore[import-untyped]

        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except Exception as error:  # the wheel is missing or has no binary for this platform
        raise ToolMissing(
            "no ffmpeg: install the project (imageio-ffmpeg) or the system's ffmpeg"
        ) from error


@functools.cache
def ffprobe_binary() -> str | None:
    """The ffprobe beside the ffmpeg in use (or on PATH); ``None`` when there is none."""
    beside = Path(ffmpeg_binary()).with_name("ffprobe")
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("ffprobe")


def describe() -> str:
    """One line for start-up logs: which ffmpeg, and where it comes from."""
    path = ffmpeg_binary()
    source = (
        "FV_FFMPEG"
        if os.environ.get("FV_FFMPEG")
        else ("imageio-ffmpeg wheel" if "imageio_ffmpeg" in path else "system")
    )
    probe = ffprobe_binary() or "none (PyAV probes)"
    return f"ffmpeg: {path} ({source}); ffprobe: {probe}"

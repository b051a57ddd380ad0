"""The CJK font the server draws Chinese with: watermarks, and later PDFs and charts.

One function resolves it. A configured path (`FV_CJK_FONT`) wins; otherwise the font that ships
inside this package (media/fonts/, Source Han Sans SC subset, SIL OFL — see its README). The
host's fonts are never consulted: a fresh Debian server has no CJK font, and falling back to
DejaVu Sans draws every Chinese character as a box on the copies handed to outside parties.
"""

from __future__ import annotations

import os
from pathlib import Path

FONT_ENV = "FV_CJK_FONT"
SHIPPED_FONT = Path(__file__).resolve().parent / "fonts" / "FieldVaultSansSC-Regular.otf"


class FontMissingError(RuntimeError):
    """The configured font file does not exist (a typo in FV_CJK_FONT, or a missing file)."""


def cjk_font_path() -> Path:
    configured = os.environ.get(FONT_ENV, "").strip()
    path = Path(configured) if configured else SHIPPED_FONT
    if not path.is_file():
        where = f"{FONT_ENV}={configured}" if configured else "the shipped font"
        raise FontMissingError(f"CJK font not found ({where}): {path}")
    return path

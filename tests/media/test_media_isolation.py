"""media/ must stay importable without Django or backend."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_media_imports_no_django_or_backend() -> None:
    code = (
        "import sys, pkgutil, importlib, media\n"
        "for m in pkgutil.iter_modules(media.__path__):\n"
        "    importlib.import_module('media.' + m.name)\n"
        "bad = sorted(n for n in sys.modules if n.split('.')[0] in ('django', 'backend'))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""

"""Review's part of the periodic pass (connected in backend/wiring/registry.py)."""

from __future__ import annotations

from typing import Any

from backend.review.services import export_copies_withdraw


def review_after_retention_pass(summary: dict[str, Any]) -> None:
    """Withdraw the watermarked export copies whose grant has expired."""
    summary["export_copies_withdrawn"] = export_copies_withdraw()

"""The layer contracts of pyproject.toml ([tool.importlinter]) hold: media and coverage_core
Django-free, the tus server app-free, domain code free of api/views/consumers, no cycles
between the apps (docs/ARCHITECTURE.md). `make lint` runs the same check as lint-imports."""

from __future__ import annotations

from pathlib import Path

from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[2]


def test_import_contracts_are_kept(monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.syspath_prepend(str(ROOT))
    assert lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True) == 0

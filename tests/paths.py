"""Where the sample data in the official formats lives.

A copy of ../shared/data is kept in tests/data/official so that a clean checkout (CI)
runs the same tests without anything beside the repository.
"""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT / "tests" / "data" / "official"

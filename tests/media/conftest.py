"""Session fixtures over the generated corpus (tests/media/corpus.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from media.hashing import sha256_file
from media.pipeline import ProcessingOutcome, process_original
from tests.media.corpus import build_corpus


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """name -> path of every generated test file."""
    return build_corpus(tmp_path_factory.mktemp("media_corpus"))


@pytest.fixture(scope="session")
def corpus_hashes(corpus: dict[str, Path]) -> dict[str, str]:
    """SHA-256 of every corpus file as generated (before any processing)."""
    return {name: sha256_file(path) for name, path in corpus.items()}


@pytest.fixture(scope="session")
def process(
    corpus: dict[str, Path], corpus_hashes: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str], ProcessingOutcome]:
    """Process a corpus file once per session (with the salvage reference) and cache it."""
    cache: dict[str, ProcessingOutcome] = {}
    root = tmp_path_factory.mktemp("media_outputs")

    def run(name: str) -> ProcessingOutcome:
        if name not in cache:
            cache[name] = process_original(
                corpus[name], root / name, reference_for_salvage=corpus["reference_mp4"]
            )
        return cache[name]

    return run

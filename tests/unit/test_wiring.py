"""The cross-app reactions: every hook point is wired in backend/wiring/registry.py, in the
order that file states; the after-commit collector gives one job per transaction."""

from __future__ import annotations

import importlib
import pkgutil

import pytest
from django.db import transaction

import backend
from backend.after_commit import AfterCommitCollector
from backend.hooks import HookPoint
from backend.wiring.registry import REACTIONS, connect_all


def _hook_points() -> dict[int, HookPoint]:
    found: dict[int, HookPoint] = {}
    for info in pkgutil.walk_packages(backend.__path__, "backend."):
        if any(part in info.name for part in (".migrations", ".management", ".settings")):
            continue
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if isinstance(value, HookPoint):
                found[id(value)] = value
    return found


def test_every_hook_point_is_wired_once() -> None:
    wired = [id(reaction.point) for reaction in REACTIONS]
    assert len(wired) == len(set(wired))
    assert set(_hook_points()) == set(wired)
    for reaction in REACTIONS:
        assert reaction.point.receivers == reaction.receivers  # connected at start-up


def test_a_stored_clip_is_processed_then_linked_then_retained() -> None:
    from backend.footage.services import AFTER_STORED_HOOKS

    assert [r.__name__ for r in AFTER_STORED_HOOKS] == [
        "recording_processing_after_stored",
        "coverage_on_recording_stored",
        "retention_after_stored",
    ]
    connect_all()  # idempotent: replaces, never appends
    assert len(AFTER_STORED_HOOKS.receivers) == 3


@pytest.mark.django_db
def test_collector_flushes_once_per_transaction_even_after_a_savepoint_rollback(
    django_capture_on_commit_callbacks,
) -> None:
    batches: list[list[str]] = []
    collector: AfterCommitCollector[str] = AfterCommitCollector(batches.append)
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        try:
            with transaction.atomic():
                collector.add("a")  # its flush callback is dropped with the savepoint
                raise RuntimeError
        except RuntimeError:
            pass
        collector.add("b")
        collector.add("c")
        collector.add("b")
    assert batches == [["a", "b", "c"]]
    with django_capture_on_commit_callbacks(execute=True):
        collector.add("d")
    assert batches == [["a", "b", "c"], ["d"]]

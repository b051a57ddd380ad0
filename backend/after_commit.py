"""An explicit after-commit collector: many items written in one transaction, one job.

``collector.add(item)`` during a transaction; once it commits, ``flush(items)`` runs once
with every item added in it (in order, without repeats). It relies only on the public
``transaction.on_commit``: each ``add`` registers the (idempotent) flush, so whichever of
those callbacks survives savepoint rollbacks runs it, and the later ones find nothing left.
Items added inside a savepoint that was rolled back stay in the batch: the flush must
tolerate them (the callers' jobs are idempotent and skip rows that do not exist). Outside a
transaction ``on_commit`` runs at once, so each ``add`` flushes its own item.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from django.db import DEFAULT_DB_ALIAS, transaction

T = TypeVar("T", bound=Hashable)


class AfterCommitCollector(Generic[T]):
    def __init__(self, flush: Callable[[list[T]], None]) -> None:
        self._flush = flush
        self._local = threading.local()

    def _pending(self, using: str) -> dict[T, None]:
        batches: dict[str, dict[T, None]] | None = getattr(self._local, "batches", None)
        if batches is None:
            batches = self._local.batches = {}
        return batches.setdefault(using, {})

    def add(self, item: T, *, using: str | None = None) -> None:
        alias = using or DEFAULT_DB_ALIAS
        self._pending(alias)[item] = None
        transaction.on_commit(lambda: self._run(alias), using=alias)

    def _run(self, alias: str) -> None:
        pending = self._pending(alias)
        if not pending:
            return
        items = list(pending)
        pending.clear()
        self._flush(items)

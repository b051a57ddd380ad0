"""The one commit the device relies on is on disk before the device is told.

The embedded SQLite database runs `journal_mode=WAL; synchronous=NORMAL`: a commit is in the
WAL but not yet synced, and a power cut may take the last commits back. For most writes that
costs nothing anyone was promised; for `stored` it does: the device deletes its clip once
told, so a rolled-back `stored` leaves an object that the database no longer knows.
`durable_atomic()` commits with synchronous=FULL (the WAL is fsynced at that commit, and
with it every earlier commit in it) and goes back to NORMAL afterwards.
tests/bench/bench_backup.py measures what FULL costs per commit. PostgreSQL commits are
durable already (synchronous_commit=on); there it is a plain `transaction.atomic()`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from django.db import transaction


@contextlib.contextmanager
def durable_atomic(using: str | None = None) -> Iterator[None]:
    connection = transaction.get_connection(using)
    # SQLite refuses to change the safety level inside a transaction: only an outermost
    # block can switch (nested in a caller's transaction, the caller's commit decides).
    switch = connection.vendor == "sqlite" and not connection.in_atomic_block
    if switch:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA synchronous=FULL")
    try:
        with transaction.atomic(using=using):
            yield
    finally:
        if switch and connection.connection is not None:
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA synchronous=NORMAL")

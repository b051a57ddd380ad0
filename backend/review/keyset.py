"""Keyset pagination for the list pages: newest first on (started_at, id), "newer" and
"older" links carrying the edge row's key, never OFFSET and never a count of everything.

A page costs one index range scan of ``size + 1`` rows whatever its depth: the cursor
``2026-03-01T08:00:00+00:00_<uuid>`` becomes ``started_at <= t AND (started_at < t OR
(started_at = t AND id < uuid))``, whose first conjunct bounds the index scan and whose
second breaks ties between rows of the same instant.
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db.models import Model, Q, QuerySet
from django.utils.dateparse import parse_datetime

T = TypeVar("T", bound=Model)

CURSOR_SEPARATOR = "_"


def cursor_for(row: Any, *, time_field: str = "started_at") -> str:
    return f"{getattr(row, time_field).isoformat()}{CURSOR_SEPARATOR}{row.pk}"


def parse_cursor(value: str | None) -> tuple[datetime.datetime, uuid.UUID] | None:
    """``None`` for a missing or malformed cursor (the list starts from the newest)."""
    if not value or CURSOR_SEPARATOR not in value:
        return None
    stamp, _sep, key = value.rpartition(CURSOR_SEPARATOR)
    try:
        moment = parse_datetime(stamp.replace(" ", "+"))  # a "+" may arrive as a space
        pk = uuid.UUID(key)
    except ValueError:
        return None
    if moment is None or moment.tzinfo is None:
        return None
    return moment, pk


@dataclass(frozen=True)
class KeysetPage(Generic[T]):
    rows: list[T]
    newer: str | None  # cursor for the "newer" link (None: this is the newest page)
    older: str | None  # cursor for the "older" link (None: nothing older)
    size: int

    def __iter__(self) -> Any:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def more(self) -> bool:
        return self.older is not None


def keyset_page(
    queryset: QuerySet[T],
    *,
    older: str | None = None,
    newer: str | None = None,
    size: int = 50,
    time_field: str = "started_at",
) -> KeysetPage[T]:
    """One page, newest first. ``older`` pages down from that key, ``newer`` up from it;
    with neither the page starts at the newest row."""
    before = parse_cursor(older)
    after = parse_cursor(newer) if before is None else None
    if after is not None:
        moment, pk = after
        bound = Q(**{f"{time_field}__gte": moment}) & (
            Q(**{f"{time_field}__gt": moment}) | Q(**{time_field: moment, "pk__gt": pk})
        )
        ascending = list(queryset.filter(bound).order_by(time_field, "pk")[: size + 1])
        if len(ascending) <= size:  # reached the newest: show the first page, full
            return keyset_page(queryset, size=size, time_field=time_field)
        rows = list(reversed(ascending[:size]))
        return KeysetPage(
            rows=rows,
            newer=cursor_for(rows[0], time_field=time_field),
            older=cursor_for(rows[-1], time_field=time_field) if rows else None,
            size=size,
        )
    if before is not None:
        moment, pk = before
        queryset = queryset.filter(
            Q(**{f"{time_field}__lte": moment})
            & (Q(**{f"{time_field}__lt": moment}) | Q(**{time_field: moment, "pk__lt": pk}))
        )
    found = list(queryset.order_by(f"-{time_field}", "-pk")[: size + 1])
    rows = found[:size]
    return KeysetPage(
        rows=rows,
        newer=cursor_for(rows[0], time_field=time_field) if rows and before is not None else None,
        older=cursor_for(rows[-1], time_field=time_field) if len(found) > size else None,
        size=size,
    )

"""Schemas of the publication API."""

from __future__ import annotations

import datetime
import uuid

from ninja import Schema


class PublicItemOut(Schema):
    """A published item as the public site shows it (de-identified)."""

    id: uuid.UUID
    category: str
    unit: str
    title: str
    party: str
    fields: list[list[str]]
    published_at: datetime.datetime


class PublicPageOut(Schema):
    items: list[PublicItemOut]
    next_cursor: str | None


class QueueItemOut(Schema):
    id: uuid.UUID
    category: str
    title: str
    state: str
    decided_on: datetime.date
    publish_by: datetime.date
    publish_by_provisional: bool
    overdue: bool


class WithdrawIn(Schema):
    reason: str

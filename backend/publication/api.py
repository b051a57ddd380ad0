"""The publication API: the public feed (no sign-in) and the staff's publish and withdraw."""

from __future__ import annotations

import uuid

from django.http import HttpRequest
from django.utils import timezone
from ninja import Query, Router
from ninja.security import django_auth

from backend.accounts.models import User
from backend.config.errors import InvalidInput, PermissionDenied
from backend.publication import selectors
from backend.publication.models import Category, PublicItem
from backend.publication.schemas import PublicItemOut, PublicPageOut, QueueItemOut, WithdrawIn
from backend.publication.services.items import public_item_publish, public_item_withdraw

router = Router(tags=["publication"], auth=django_auth)


def _manager(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    if not selectors.may_manage_publication(user):
        raise PermissionDenied("only supervisors, legal officers and administrators publish")
    return user


def _public(row: dict[str, object]) -> PublicItemOut:
    return PublicItemOut(
        id=row["id"],  # type: ignore[arg-type]
        category=str(row["category"]),
        unit=str(row["unit__name"]),
        title=str(row["public_title"]),
        party=str(row["public_party"]),
        fields=row["public_fields"],  # type: ignore[arg-type]
        published_at=row["published_at"],  # type: ignore[arg-type]
    )


@router.get("items", response=PublicPageOut, auth=None, operation_id="public_items_list")
def public_list(
    request: HttpRequest,
    category: str | None = None,
    year: int | None = Query(None, ge=2000, le=2100),
    q: str = Query("", max_length=100),
    cursor: str = Query("", max_length=80),
) -> PublicPageOut:
    """Published items (行政执法公示), newest first, de-identified: a natural person's name is
    masked, identity numbers and addresses never appear. Public. `cursor` is the
    `next_cursor` of the previous page."""
    if category and category not in Category.values:
        raise InvalidInput("unknown category", code="unknown_category")
    after = selectors.PublicCursor.parse(cursor) if cursor else None
    if cursor and after is None:
        raise InvalidInput("malformed cursor", code="bad_cursor")
    rows, next_cursor = selectors.public_items(
        year=year, category=category, search=q.strip(), after=after
    )
    return PublicPageOut(
        items=[_public(row) for row in rows],
        next_cursor=next_cursor.token() if next_cursor else None,
    )


def _queue_out(item: PublicItem) -> QueueItemOut:
    return QueueItemOut(
        id=item.pk,
        category=item.category,
        title=item.title,
        state=item.state,
        decided_on=item.decided_on,
        publish_by=item.publish_by,
        publish_by_provisional=item.publish_by_provisional,
        overdue=item.state == "pending" and timezone.localdate() > item.publish_by,
    )


@router.get("queue", response=list[QueueItemOut], operation_id="publication_queue")
def queue(request: HttpRequest) -> list[QueueItemOut]:
    """Items of the caller's units waiting for publication, earliest deadline first
    (decisions: 7 working days; random-inspection results: 20)."""
    user = _manager(request)
    return [_queue_out(item) for item in selectors.queue_for(user)[:500]]


@router.post("items/{item_id}/publish", response=QueueItemOut, operation_id="public_items_publish")
def publish(request: HttpRequest, item_id: uuid.UUID) -> QueueItemOut:
    """Publish a pending item of the caller's units (another unit's: 404)."""
    user = _manager(request)
    item = selectors.item_for_manager(user, item_id)
    return _queue_out(public_item_publish(item_id=item.pk, actor=user))


@router.post(
    "items/{item_id}/withdraw", response=QueueItemOut, operation_id="public_items_withdraw"
)
def withdraw(request: HttpRequest, item_id: uuid.UUID, body: WithdrawIn) -> QueueItemOut:
    """Withdraw a published item at once (decision revoked, found unlawful, re-made), with
    the notice shown in its place."""
    user = _manager(request)
    item = selectors.item_for_manager(user, item_id)
    return _queue_out(public_item_withdraw(item_id=item.pk, reason=body.reason, actor=user))

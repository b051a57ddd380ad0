"""Sealing a day: its leaves, the Merkle tree, the statement chained to the day before."""

from __future__ import annotations

import datetime
import hashlib

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from backend.audit.services import Actor, audit_record
from backend.integrity.models import DayRoot, Leaf
from backend.integrity.services.leaves import day_leaves, first_day_with_leaves, local_date
from provenance.merkle import MerkleTree
from provenance.statements import GENESIS, DayStatement


def last_sealable_day(now: datetime.datetime) -> datetime.date:
    """A day is sealed once its local midnight is FV_INTEGRITY_GRACE_SECONDS behind."""
    grace = datetime.timedelta(seconds=settings.FV_INTEGRITY_GRACE_SECONDS)
    return local_date(now - grace) - datetime.timedelta(days=1)


def days_to_seal(now: datetime.datetime) -> list[datetime.date]:
    last = last_sealable_day(now)
    newest = DayRoot.objects.order_by("-day").first()
    if newest is not None:
        first = newest.day + datetime.timedelta(days=1)
    else:
        found = first_day_with_leaves()
        if found is None:
            return []
        first = found
    days = []
    while first <= last:
        days.append(first)
        first += datetime.timedelta(days=1)
    return days


def day_seal(day: datetime.date, *, now: datetime.datetime | None = None) -> DayRoot | None:
    """Seal `day` (idempotent: an already sealed day is returned as it is). None when a
    concurrent pass sealed it first."""
    existing = DayRoot.objects.filter(day=day).first()
    if existing is not None:
        return existing
    previous_root = DayRoot.objects.filter(day__lt=day).order_by("-day").first()
    if previous_root is not None and previous_root.day != day - datetime.timedelta(days=1):
        raise ValueError(f"{day}: the day before is not sealed ({previous_root.day} is the last)")
    leaves = list(day_leaves(day))
    tree = MerkleTree([leaf.data for leaf in leaves])
    statement = DayStatement(
        installation=settings.FV_INSTALLATION_NAME,
        day=day.isoformat(),
        tree_size=tree.size,
        root=tree.root.hex(),
        previous=previous_root.statement_hash if previous_root else GENESIS,
    )
    statement_bytes = statement.to_bytes()
    try:
        with transaction.atomic():
            sealed = DayRoot.objects.create(
                day=day,
                tree_size=tree.size,
                root=statement.root,
                previous=statement.previous,
                statement=statement_bytes.decode("utf-8"),
                statement_hash=hashlib.sha256(statement_bytes).hexdigest(),
                sealed_at=now or timezone.now(),
            )
            Leaf.objects.bulk_create(
                (
                    Leaf(
                        day=sealed,
                        index=index,
                        kind=leaf.kind,
                        object_id=leaf.object_id,
                        data=leaf.data.decode("utf-8"),
                        leaf_hash=tree.leaf_hash(index).hex(),
                    )
                    for index, leaf in enumerate(leaves)
                ),
                batch_size=5000,
            )
            audit_record(
                actor=Actor.system(),
                action="integrity.day_sealed",
                object_type="integrity_day",
                object_id=day.isoformat(),
                data={"root": statement.root, "tree_size": tree.size},
            )
    except IntegrityError:
        return None
    return sealed


def days_seal(now: datetime.datetime) -> list[DayRoot]:
    """Seal every day due, oldest first; the set of days is fixed by `now` at the start, so
    a pass that runs across midnight does not seal the day that just ended early."""
    sealed = []
    for day in days_to_seal(now):
        root = day_seal(day, now=now)
        if root is None:
            break
        sealed.append(root)
    return sealed

"""Offer, publish, exclude, withdraw and take down public items. Every write is audited,
versioned (what was public from when) and tallied in the same transaction."""

from __future__ import annotations

import datetime
import uuid

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import User
from backend.audit.services import Actor, audit_record
from backend.config.errors import Conflict, InvalidInput
from backend.hooks import HookPoint
from backend.publication.models import (
    Category,
    ExclusionGround,
    ItemState,
    PartyKind,
    PublicItem,
    PublicItemVersion,
    PublicNotice,
    TallyMeasure,
)
from backend.publication.offers import DEADLINE_WORKING_DAYS, PublishableItem
from backend.publication.selectors import public_generation_forget
from backend.publication.services.masking import public_text
from backend.publication.services.tallies import tally_add
from backend.workcalendar.selectors import add_working_days

# Fired after the commit that published an item, with (source, source_key, published_at):
# the source may record that its decision or result is now public.
ITEM_PUBLISHED_HOOKS: HookPoint[[str, str, datetime.datetime], None] = HookPoint(
    "publication.item_published",
    "An item was published on the public site: its source may record the publication.",
)

# 公开期限 (第十一条二): 5 years; 2 years when the party is a natural person.
SHOWN_YEARS = {PartyKind.NATURAL: 2, PartyKind.ORGANISATION: 5}


def years_later(day: datetime.date, years: int) -> datetime.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February → 28 February
        return day.replace(year=day.year + years, day=28)


def publishable_item_offer(*, offer: PublishableItem, actor: Actor) -> PublicItem:
    """Enter (or update, while unpublished) an item offered by a source; its deadline is
    counted in working days from the day the information formed. A minor party's item is
    received excluded (第八条一) and never reaches the site."""
    if offer.category not in Category.values:
        raise InvalidInput(_("未知的公示类别"), code="unknown_category")
    deadline = add_working_days(offer.decided_on, DEADLINE_WORKING_DAYS[offer.category])
    values = {
        "unit_id": offer.unit_id,
        "category": offer.category,
        "title": offer.title,
        "party_kind": PartyKind.NATURAL
        if offer.party_is_natural_person
        else PartyKind.ORGANISATION,
        "party_name": offer.party_name,
        "party_is_minor": offer.party_is_minor,
        "withheld_texts": list(offer.withheld),
        "fields": [list(pair) for pair in offer.fields],
        "decided_on": offer.decided_on,
        "publish_by": deadline.date,
        "publish_by_provisional": deadline.provisional,
    }
    with transaction.atomic():
        item = (
            PublicItem.objects.select_for_update()
            .filter(source=offer.source, source_key=offer.source_key)
            .first()
        )
        if item is not None and item.state != ItemState.PENDING:
            return item  # published, excluded or ended: a later offer changes nothing
        created = item is None
        if item is None:
            item = PublicItem(source=offer.source, source_key=offer.source_key)
        for name, value in values.items():
            setattr(item, name, value)
        if offer.party_is_minor:
            # 第八条一: excluded by law, no leader's approval needed (the constraint allows it).
            item.state = ItemState.EXCLUDED
            item.exclusion_ground = ExclusionGround.MINOR
            item.end_reason = str(ExclusionGround.MINOR.label)
            item.ended_at = timezone.now()
        item.save()
        if created:
            tally_add(
                year=offer.decided_on.year,
                unit_id=offer.unit_id,
                category=offer.category,
                measure=TallyMeasure.OFFERED,
            )
            if item.state == ItemState.EXCLUDED:
                tally_add(
                    year=offer.decided_on.year,
                    unit_id=offer.unit_id,
                    category=offer.category,
                    measure=TallyMeasure.EXCLUDED,
                )
        audit_record(
            actor=actor,
            action="public_item.offered" if created else "public_item.reoffered",
            object_type="public_item",
            object_id=item.pk,
            data={
                "source": offer.source,
                "source_key": offer.source_key,
                "publish_by": deadline.date.isoformat(),
                "provisional": deadline.provisional,
                "excluded": item.state == ItemState.EXCLUDED,
            },
        )
    return item


def _snapshot(item: PublicItem) -> dict[str, object]:
    return {
        "title": item.public_title,
        "party": item.public_party,
        "fields": item.public_fields,
        "category": item.category,
        "unit": item.unit_id,
    }


def _version(item: PublicItem, action: str, actor: User | None, note: str = "") -> None:
    # The public pages of this process see the change at once (others within a second).
    transaction.on_commit(public_generation_forget)
    public = _snapshot(item) if item.state == ItemState.PUBLISHED else {}
    PublicItemVersion.objects.create(
        item=item, action=action, at=timezone.now(), actor=actor, note=note, public=public
    )


def _locked(item_id: uuid.UUID) -> PublicItem:
    return PublicItem.objects.select_for_update().get(pk=item_id)


def public_item_publish(*, item_id: uuid.UUID, actor: User) -> PublicItem:
    """Publish a pending item: the de-identified text is fixed now, the take-down day set
    (5 years, 2 for a natural person). Publishing twice is a no-op."""
    with transaction.atomic():
        item = _locked(item_id)
        if item.state == ItemState.PUBLISHED:
            return item
        if item.state != ItemState.PENDING:
            raise Conflict(_("该信息不在待公示状态"), code="not_pending")
        if item.party_is_minor:
            raise Conflict(_("行政相对人是未成年人的，不予公开"), code="minor_party")
        now = timezone.now()
        today = timezone.localdate(now)
        title, party, fields = public_text(
            title=item.title,
            fields=item.fields,
            party_name=item.party_name,
            natural_person=item.party_kind == PartyKind.NATURAL,
            withheld=item.withheld_texts,
        )
        item.public_title, item.public_party, item.public_fields = title, party, fields
        item.public_search = " ".join([title, party, *(value for _label, value in fields)])
        item.state = ItemState.PUBLISHED
        item.published_at = now
        item.published_by = actor
        item.takedown_on = years_later(today, SHOWN_YEARS[PartyKind(item.party_kind)])
        item.save()
        _version(item, "published", actor)
        tally_add(
            year=today.year,
            unit_id=item.unit_id,
            category=item.category,
            measure=TallyMeasure.PUBLISHED,
        )
        if today <= item.publish_by:
            tally_add(
                year=today.year,
                unit_id=item.unit_id,
                category=item.category,
                measure=TallyMeasure.ON_TIME,
            )
        source, key, at = item.source, item.source_key, now
        transaction.on_commit(lambda: ITEM_PUBLISHED_HOOKS.fire(source, key, at))
        audit_record(
            actor=Actor.user(actor),
            action="public_item.published",
            object_type="public_item",
            object_id=item.pk,
            data={
                "publish_by": item.publish_by.isoformat(),
                "late": today > item.publish_by,
                "takedown_on": item.takedown_on.isoformat(),
            },
        )
    return item


def public_item_exclude(
    *, item_id: uuid.UUID, ground: str, reason: str, approver: User
) -> PublicItem:
    """Not published (第八条), with the ground, a reason and the approving leader."""
    if ground not in ExclusionGround.values:
        raise InvalidInput(_("请选择不予公开的情形"), code="unknown_ground")
    if not reason.strip():
        raise InvalidInput(_("请填写不予公开的理由"), code="reason_required")
    with transaction.atomic():
        item = _locked(item_id)
        if item.state != ItemState.PENDING:
            raise Conflict(_("该信息不在待公示状态"), code="not_pending")
        item.state = ItemState.EXCLUDED
        item.exclusion_ground = ground
        item.exclusion_approved_by = approver
        item.end_reason = reason.strip()
        item.ended_at = timezone.now()
        item.save()
        _version(item, "excluded", approver, item.end_reason)
        tally_add(
            year=item.decided_on.year,
            unit_id=item.unit_id,
            category=item.category,
            measure=TallyMeasure.EXCLUDED,
        )
        audit_record(
            actor=Actor.user(approver),
            action="public_item.excluded",
            object_type="public_item",
            object_id=item.pk,
            data={"ground": ground, "reason": item.end_reason},
        )
    return item


def public_item_withdraw(*, item_id: uuid.UUID, reason: str, actor: User) -> PublicItem:
    """Take a published item off the site at once (decision revoked, found unlawful or to
    be re-made), with the notice the public sees in its place."""
    if not reason.strip():
        raise InvalidInput(_("请填写撤下的说明"), code="reason_required")
    with transaction.atomic():
        item = _locked(item_id)
        if item.state != ItemState.PUBLISHED:
            raise Conflict(_("只有已公示的信息可以撤下"), code="not_published")
        _withdraw(item, reason.strip(), actor)
    return item


def _withdraw(item: PublicItem, reason: str, actor: User | None) -> None:
    """Published → withdrawn (the notice stays on the site, counted as withdrawn); pending →
    withdrawn before it was ever shown (not counted: nothing was public)."""
    was_public = item.state == ItemState.PUBLISHED
    now = timezone.now()
    item.state = ItemState.WITHDRAWN
    item.ended_at = now
    item.end_reason = reason
    item.save()
    _version(item, "withdrawn", actor, item.end_reason)
    if was_public:
        tally_add(
            year=timezone.localdate(now).year,
            unit_id=item.unit_id,
            category=item.category,
            measure=TallyMeasure.WITHDRAWN,
        )
    audit_record(
        actor=Actor.user(actor) if actor is not None else Actor.system(),
        action="public_item.withdrawn",
        object_type="public_item",
        object_id=item.pk,
        data={"reason": item.end_reason, "was_public": was_public},
    )


def public_item_source_withdrawn(*, source: str, source_key: str, reason: str) -> bool:
    """The source says its information no longer stands (a decision revoked, found unlawful
    or to be re-made): a published item is withdrawn at once with `reason` as the notice, a
    pending one never goes up. Idempotent; False when there is nothing to withdraw."""
    with transaction.atomic():
        item = (
            PublicItem.objects.select_for_update()
            .filter(source=source, source_key=source_key)
            .first()
        )
        if item is None or item.state not in (ItemState.PUBLISHED, ItemState.PENDING):
            return False
        _withdraw(item, reason, None)
    return True


def public_item_correct(
    *, item_id: uuid.UUID, field_label: str, new_value: str, note: str, actor: User
) -> PublicItem:
    """Correct one field of a published item (纠错, or a rectification added after
    publication): its public text is derived again (names masked, withheld texts removed, as
    on publication) and the version kept with the note. Runs in the caller's transaction."""
    label, value = field_label, new_value
    item = _locked(item_id)
    if item.state != ItemState.PUBLISHED:
        raise Conflict(_("只有已公示的信息可以更正"), code="not_published")
    labels = [pair[0] for pair in item.fields]
    if label not in labels:
        raise InvalidInput(_("请选择要更正的项目。"), code="invalid_field")
    if not value.strip():
        raise InvalidInput(_("请填写更正后的内容。"), code="value_required")
    item.fields = [[name, value.strip() if name == label else text] for name, text in item.fields]
    title, party, fields = public_text(
        title=item.title,
        fields=item.fields,
        party_name=item.party_name,
        natural_person=item.party_kind == PartyKind.NATURAL,
        withheld=item.withheld_texts,
    )
    item.public_title, item.public_party, item.public_fields = title, party, fields
    item.public_search = " ".join([title, party, *(text for _label, text in fields)])
    item.save()
    _version(item, "corrected", actor, note)
    audit_record(
        actor=Actor.user(actor),
        action="public_item.corrected",
        object_type="public_item",
        object_id=item.pk,
        data={"field": label, "note": note},
    )
    return item


def public_items_take_down_due(*, today: datetime.date | None = None) -> int:
    """Items whose 公开期限 has run leave the site (idempotent; the periodic task)."""
    today = today or timezone.localdate()
    due = list(
        PublicItem.objects.filter(state=ItemState.PUBLISHED, takedown_on__lte=today)
        .order_by("pk")
        .values_list("pk", flat=True)[:1000]
    )
    done = 0
    for item_id in due:
        with transaction.atomic():
            item = _locked(item_id)
            if item.state != ItemState.PUBLISHED or item.takedown_on is None:
                continue
            if item.takedown_on > today:
                continue
            now = timezone.now()
            item.state = ItemState.EXPIRED
            item.ended_at = now
            item.end_reason = _("公开期限届满")
            item.save()
            _version(item, "expired", None, item.end_reason)
            tally_add(
                year=timezone.localdate(now).year,
                unit_id=item.unit_id,
                category=item.category,
                measure=TallyMeasure.EXPIRED,
            )
            audit_record(
                actor=Actor.system(),
                action="public_item.expired",
                object_type="public_item",
                object_id=item.pk,
                data={"takedown_on": item.takedown_on.isoformat()},
            )
            done += 1
    return done


def public_item_deadlines_recompute(year: int | None, actor: Actor) -> int:
    """Receiver of ``workcalendar.after_year_entered``: recount every provisional deadline
    of an item not yet published (each change audited). Idempotent; how many changed."""
    changed = 0
    with transaction.atomic():
        rows = PublicItem.objects.select_for_update().filter(
            publish_by_provisional=True, state=ItemState.PENDING
        )
        for item in rows.order_by("pk"):
            new = add_working_days(item.decided_on, DEADLINE_WORKING_DAYS[item.category])
            if new.date == item.publish_by and new.provisional == item.publish_by_provisional:
                continue
            old = item.publish_by
            PublicItem.objects.filter(pk=item.pk).update(
                publish_by=new.date, publish_by_provisional=new.provisional
            )
            audit_record(
                actor=actor,
                action="public_item.publish_by_recomputed",
                object_type="public_item",
                object_id=item.pk,
                data={
                    "year": year,
                    "old_publish_by": old.isoformat(),
                    "new_publish_by": new.date.isoformat(),
                    "provisional": new.provisional,
                },
            )
            changed += 1
    return changed


NOTICE_MAX = 4000


def public_notice_save(*, actor: User, remedies: str, complaints: str) -> PublicNotice:
    """The actor's unit's 救济途径 and 投诉举报渠道, published at once (the public page reads
    them live, so the 20-working-day deadline for a change is met on saving)."""
    if actor.unit is None:
        raise InvalidInput(_("您没有所属单位。"), code="no_unit")
    remedies, complaints = remedies.strip(), complaints.strip()
    if len(remedies) > NOTICE_MAX or len(complaints) > NOTICE_MAX:
        raise InvalidInput(_("每项不超过 %(n)s 字。") % {"n": NOTICE_MAX}, code="too_long")
    with transaction.atomic():
        notice, _created = PublicNotice.objects.select_for_update().get_or_create(unit=actor.unit)
        notice.remedies, notice.complaints, notice.updated_by = remedies, complaints, actor
        notice.save()
        audit_record(
            actor=Actor.user(actor),
            action="public_notice.saved",
            object_type="unit",
            object_id=actor.unit.pk,
            data={"remedies": len(remedies), "complaints": len(complaints)},
        )
    transaction.on_commit(public_generation_forget)
    return notice

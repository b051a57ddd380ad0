"""Sources of publishable items: receivers wired in backend/wiring/registry.py that turn a
source's own event into a :class:`~backend.publication.offers.PublishableItem`.

Random-inspection results (``inspections.result_concluded``) and the case app's penalty
decisions (``cases.decision_made``); see docs/ARCHITECTURE.md, the hook table. Both
receivers are idempotent and ``publication_sources_redrive`` offers anything missed."""

from __future__ import annotations

import logging
import uuid

from django.utils import timezone
from django.utils.translation import gettext as _

from backend.audit.services import Actor
from backend.cases.models import Decision, DecisionKind, PartyKind, RevocationGround
from backend.cases.selectors import decision_get
from backend.inspections.models import Inspection, InspectionStatus
from backend.inspections.services import INSPECTION_SOURCE
from backend.publication.offers import PublishableItem
from backend.publication.services.items import (
    public_item_source_withdrawn,
    publishable_item_offer,
)

log = logging.getLogger(__name__)


def inspection_offer(inspection: Inspection) -> PublishableItem:
    """行政检查 事后公开 (第七条二): 对象, 依据, 方式, 时间, 事项, 抽查内容, 存在问题, 整改情况."""
    assert inspection.departed_at is not None
    day = timezone.localtime(inspection.departed_at).date()
    item, target = inspection.item, inspection.target
    if inspection.rectification_required:
        rectification = _("责令整改，整改期限 %(day)s") % {
            "day": inspection.rectification_deadline.isoformat()
            if inspection.rectification_deadline
            else "—"
        }
    else:
        rectification = _("无需整改")
    return PublishableItem(
        source=INSPECTION_SOURCE,
        source_key=str(inspection.pk),
        unit_id=inspection.unit_id,
        category="inspection",
        title=_("%(item)s 抽查结果：%(target)s") % {"item": item.name, "target": target.name},
        decided_on=day,
        party_name=target.name,
        party_is_natural_person=False,  # law firms, notary offices, service offices
        fields=(
            ("检查对象", target.name),
            ("检查主体", item.inspecting_body),
            ("检查依据", item.legal_basis),
            ("检查方式", item.methods),
            ("检查时间", day.isoformat()),
            ("检查事项", item.name),
            ("抽查内容", item.content),
            ("存在问题", inspection.findings or _("未发现问题")),
            ("整改情况", rectification),
        ),
        withheld=tuple(text for text in (target.address,) if text),
    )


def publication_on_inspection_concluded(inspection_id: uuid.UUID) -> None:
    """Receiver of ``inspections.result_concluded`` (after the commit): offer the result.
    Failures are logged, never raised into the inspector's request; offering is idempotent
    and ``publication_sources_redrive`` offers any concluded inspection missed."""
    try:
        inspection = (
            Inspection.objects.select_related("item", "target")
            .filter(pk=inspection_id, status=InspectionStatus.CONCLUDED)
            .first()
        )
        if inspection is None or inspection.departed_at is None:
            return
        publishable_item_offer(offer=inspection_offer(inspection), actor=Actor.system())
    except Exception:
        log.exception("publication: offering inspection %s failed", inspection_id)


DECISION_SOURCE = "cases.decision"

# 救济途径: what every penalty decision tells the party
# (行政复议法 第二十条, 行政诉讼法 第四十六条).
REMEDY = "如不服本决定，可以自收到决定书之日起六十日内申请行政复议，或者六个月内依法提起行政诉讼。"


def decision_offer(decision: Decision) -> PublishableItem | None:
    """行政处罚 事后公开 (第七条一): 处罚主体, 被处罚主体, 违法事实, 处罚依据, 处罚结果,
    处罚时间, 救济途径, 决定书编号. Only penalty decisions are published; the others
    (不予处罚, 许可, 移送) have no 公示 duty here and are not offered."""
    if decision.kind != DecisionKind.PENALTY:
        return None
    case = decision.case
    return PublishableItem(
        source=DECISION_SOURCE,
        source_key=str(decision.pk),
        unit_id=case.unit_id,
        category="penalty",
        title=_("行政处罚决定：%(number)s") % {"number": decision.document_number},
        decided_on=decision.decided_on,
        party_name=case.party_name,
        party_is_natural_person=case.party_kind == PartyKind.NATURAL,
        party_is_minor=case.party_minor,
        fields=(
            ("处罚主体", case.unit.name),
            ("被处罚主体", case.party_name),
            ("违法事实", case.matter),
            ("处罚依据", decision.legal_basis),
            ("处罚结果", decision.summary),
            ("处罚时间", decision.decided_on.isoformat()),
            ("救济途径", REMEDY),
            ("决定书编号", decision.document_number),
        ),
    )


def publication_on_decision_made(decision_id: int) -> None:
    """Receiver of ``cases.decision_made`` (after the commit): offer a penalty decision.
    Failures are logged, never raised into the officer's request."""
    try:
        decision = decision_get(decision_id)
        offer = decision_offer(decision) if decision is not None else None
        if offer is not None:
            publishable_item_offer(offer=offer, actor=Actor.system())
    except Exception:
        log.exception("publication: offering decision %s failed", decision_id)


def publication_on_decision_revoked(decision_id: int) -> None:
    """Receiver of ``cases.decision_revoked``: the decision leaves the public site at once
    with a notice naming the ground (撤销 / 确认违法 / 重新作出) and the date."""
    try:
        decision = Decision.objects.filter(pk=decision_id, revoked_on__isnull=False).first()
        if decision is None or decision.revoked_on is None:
            return
        notice = _("%(number)s 已于 %(day)s %(ground)s，原公示信息撤下。") % {
            "number": decision.document_number,
            "day": decision.revoked_on.isoformat(),
            "ground": RevocationGround(decision.revoked_ground).label
            if decision.revoked_ground
            else "",
        }
        public_item_source_withdrawn(
            source=DECISION_SOURCE, source_key=str(decision.pk), reason=notice
        )
    except Exception:
        log.exception("publication: withdrawing decision %s failed", decision_id)


def publication_sources_redrive() -> int:
    """Offer every concluded inspection and penalty decision not yet offered (idempotent;
    anti-joins)."""
    from django.db.models import CharField, Exists, OuterRef
    from django.db.models.functions import Cast

    from backend.publication.models import PublicItem

    offered = PublicItem.objects.filter(
        source=INSPECTION_SOURCE, source_key=Cast(OuterRef("pk"), CharField())
    )
    missing = (
        Inspection.objects.filter(status=InspectionStatus.CONCLUDED, departed_at__isnull=False)
        .filter(~Exists(offered))
        .select_related("item", "target")
    )
    count = 0
    for inspection in missing.iterator():
        publishable_item_offer(offer=inspection_offer(inspection), actor=Actor.system())
        count += 1
    offered_decisions = PublicItem.objects.filter(
        source=DECISION_SOURCE, source_key=Cast(OuterRef("pk"), CharField())
    )
    decisions = (
        Decision.objects.filter(kind=DecisionKind.PENALTY, revoked_on__isnull=True)
        .filter(~Exists(offered_decisions))
        .select_related("case", "case__unit")
    )
    for decision in decisions.iterator():
        offer = decision_offer(decision)
        if offer is not None:
            publishable_item_offer(offer=offer, actor=Actor.system())
            count += 1
    return count

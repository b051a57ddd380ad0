"""Sources of publishable items: receivers wired in backend/wiring/registry.py that turn a
source's own event into a :class:`~backend.publication.offers.PublishableItem`.

Today: random-inspection results (``inspections.result_concluded``). The case app's
decisions (``cases.decision_made``) are wired by the lead with a receiver of the same kind
(see docs/ARCHITECTURE.md, the hook table)."""

from __future__ import annotations

import logging
import uuid

from django.utils import timezone
from django.utils.translation import gettext as _

from backend.audit.services import Actor
from backend.inspections.models import Inspection, InspectionStatus
from backend.inspections.services import INSPECTION_SOURCE
from backend.publication.offers import PublishableItem
from backend.publication.services.items import publishable_item_offer

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


def publication_sources_redrive() -> int:
    """Offer every concluded inspection not yet offered (idempotent; an anti-join)."""
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
    return count

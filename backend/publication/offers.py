"""The input shape of the publication app: what a source offers for publication.

A source (today ``backend.inspections`` through ``inspections.result_concluded``; next the
case app through ``cases.decision_made``) never imports this app: a receiver wired in
``backend/wiring/registry.py`` turns the source's own ids into a :class:`PublishableItem`
and calls ``backend.publication.services.items.publishable_item_offer``. Offering the same
(source, source_key) again updates an item not yet published (a result recorded again, a
decision re-made before publication) and is otherwise idempotent.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

# Working days from the day the information formed (or changed) to its publication
# (公示办法 第十一条): decisions 7, random-inspection results 20.
DEADLINE_WORKING_DAYS = {"penalty": 7, "check": 7, "inspection": 20}


@dataclass(frozen=True)
class PublishableItem:
    """One decision or result to be published.

    - ``category``: ``penalty`` (行政处罚: fields 处罚主体, 被处罚主体, 违法事实, 处罚依据,
      处罚结果, 处罚时间, 救济途径, 决定书编号), ``check`` (行政检查: 检查对象, 检查依据,
      检查方式, 检查时间, 检查事项, 存在问题, 整改情况) or ``inspection`` (双随机抽查).
    - ``fields``: (label, value) pairs in display order, as the source has them; the party's
      full name may appear in them (it is masked on publication for a natural person).
    - ``withheld``: texts that must never be published wherever they appear: identity
      numbers, addresses, phone numbers (identity and phone numbers are removed anyway).
    - ``party_is_minor``: a minor party is never published (第八条一); the item is
      received as excluded.
    """

    source: str
    source_key: str
    unit_id: int
    category: str
    title: str
    decided_on: datetime.date
    party_name: str
    party_is_natural_person: bool
    fields: tuple[tuple[str, str], ...]
    withheld: tuple[str, ...] = field(default=())
    party_is_minor: bool = False

"""Every cross-app reaction, in one place and in the order it runs.

A producer declares a hook point (:class:`backend.hooks.HookPoint`) and fires it; it never
imports a consumer. This module is the only one that knows both sides: each entry of
:data:`REACTIONS` names a hook point and the ordered receivers it calls. The order is
semantic where noted; :func:`connect_all` (from ``WiringConfig.ready()``, the last app)
connects them all, replacing whatever was there, so it is idempotent.

What happens when a clip is stored (``footage.after_stored``, after the storing transaction
committed; each receiver catches and logs its own failures except coverage, whose failure
the periodic ``coverage_recheck`` repairs):

1. media processing is queued (proxy, poster, integrity);
2. coverage links the recording to the activities it overlaps and re-checks them;
3. retention computes the recording's category and lock — after 2, because a recording's
   retention follows the activity (category, verdict) it is linked to.

Other reactions in this file: an activity changed (coverage re-links and re-checks it, then
retention refreshes the recordings linked to it, same order and reason); a year's holiday
arrangement entered (corrections', inspections' and public items' provisional deadlines
recomputed); a case's decision recorded (a penalty decision is offered to the public site;
the case's recordings become evidence for retention) or revoked (withdrawn from the public
site with a notice); an inspection's result concluded
(offered to the public site) and published there (the inspection is marked published);
retention's facts and reference look-ups extended with the activities' (enforcement
category, coverage verdict, activity holds) and the case files' (case number, evidence once
decided, case holds); retention's periodic pass done (review withdraws expired export
copies); an export package built (integrity adds its integrity/ folder of proofs).

This app is also the composition root for commands that span apps (``demo_load``,
``fieldwork_periodic``): they live in ``backend/wiring/management/commands``.

Not hook points, and so not here: a producer's own after-commit work (events published on
the live channel, tasks enqueued by the app that owns them), and direct calls of one app's
public services by another app's workflows (e.g. coverage's retiming calls footage's
time-shift service; see docs/ARCHITECTURE.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from backend.cases.services.decision import DECISION_MADE, DECISION_REVOKED
from backend.cases.services.review import review_deadlines_recompute
from backend.corrections.deadlines import overdue_alerts_recompute
from backend.coverage.services import coverage_activity_refresh, coverage_on_recording_stored
from backend.enforcement.services import ACTIVITY_CHANGED_HOOKS
from backend.footage.processing import recording_processing_after_stored
from backend.footage.services import AFTER_STORED_HOOKS
from backend.hooks import HookPoint
from backend.inspections.deadlines import publication_deadlines_recompute
from backend.inspections.services import RESULT_CONCLUDED_HOOKS, inspection_published_on_site
from backend.integrity.services.packaging import integrity_files
from backend.publication.services.items import (
    ITEM_PUBLISHED_HOOKS,
    public_item_deadlines_recompute,
)
from backend.publication.sources import (
    publication_on_decision_made,
    publication_on_decision_revoked,
    publication_on_inspection_concluded,
)
from backend.retention.activity_facts import (
    activity_facts_provider,
    activity_reference_resolver,
    retention_on_activity_changed,
)
from backend.retention.case_facts import (
    case_facts_provider,
    case_reference_resolver,
    retention_on_decision_made,
)
from backend.retention.facts import FACT_PROVIDERS, REFERENCE_RESOLVERS
from backend.retention.periodic import AFTER_PERIODIC_PASS_HOOKS
from backend.retention.services import retention_after_stored
from backend.review.packaging import PACKAGE_FILES_HOOKS
from backend.review.periodic import review_after_retention_pass
from backend.workcalendar.services.entry import AFTER_YEAR_ENTERED_HOOKS


@dataclass(frozen=True)
class Reaction:
    """A hook point and its receivers, called in this order."""

    point: HookPoint[Any, Any]
    receivers: tuple[Callable[..., Any], ...]
    why_this_order: str = ""


REACTIONS: tuple[Reaction, ...] = (
    Reaction(
        AFTER_STORED_HOOKS,
        (
            recording_processing_after_stored,
            coverage_on_recording_stored,
            retention_after_stored,
        ),
        "retention reads the links coverage makes; processing is independent of both",
    ),
    Reaction(
        ACTIVITY_CHANGED_HOOKS,
        (coverage_activity_refresh, retention_on_activity_changed),
        "retention refreshes the recordings coverage has just (re-)linked",
    ),
    Reaction(
        AFTER_YEAR_ENTERED_HOOKS,
        (
            overdue_alerts_recompute,
            publication_deadlines_recompute,
            review_deadlines_recompute,
            public_item_deadlines_recompute,
        ),
        "independent of each other",
    ),
    Reaction(
        DECISION_MADE,
        (publication_on_decision_made, retention_on_decision_made),
        "independent: a penalty decision is offered to the public site (7 working days); "
        "the case's recordings become evidence for retention",
    ),
    Reaction(
        DECISION_REVOKED,
        (publication_on_decision_revoked,),
        "the decision leaves the public site at once, with a notice",
    ),
    Reaction(
        RESULT_CONCLUDED_HOOKS,
        (publication_on_inspection_concluded,),
        "the result is offered to the public site (deadline: 20 working days)",
    ),
    Reaction(
        ITEM_PUBLISHED_HOOKS,
        (inspection_published_on_site,),
        "an inspection result published on the site is published for the tablets too",
    ),
    Reaction(FACT_PROVIDERS, (activity_facts_provider, case_facts_provider)),
    Reaction(REFERENCE_RESOLVERS, (activity_reference_resolver, case_reference_resolver)),
    Reaction(
        AFTER_PERIODIC_PASS_HOOKS,
        (review_after_retention_pass,),
        "after destructions ran: copies of destroyed recordings go too",
    ),
    Reaction(PACKAGE_FILES_HOOKS, (integrity_files,)),
)


def connect_all() -> None:
    """Connect every hook point to its receivers (idempotent: replaces, never appends)."""
    for reaction in REACTIONS:
        reaction.point.connect(reaction.receivers)

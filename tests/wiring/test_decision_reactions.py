"""What follows a decision (``cases.decision_made``, wired in the registry): a penalty
decision reaches the publication queue (公示) — other kinds do not, a minor party's is
received as excluded, the periodic redrive offers what a lost receiver missed — and the
case's recordings become evidence for retention, found by the case's number."""

from __future__ import annotations

import pytest

from backend.accounts.models import Role
from backend.cases.models import Case, Decision, DocumentKind
from backend.cases.services import case_recording_link, decision_record, decision_revoke
from backend.config.errors import Conflict, NotFound, PermissionDenied
from backend.publication.models import ItemState, PublicItem
from backend.publication.selectors import public_item
from backend.publication.services.items import public_item_publish
from backend.publication.sources import DECISION_SOURCE, publication_sources_redrive
from backend.retention.facts import recordings_for_reference
from backend.retention.models import RecordingRetention
from backend.workcalendar.selectors import add_working_days
from tests.cases.conftest import World, add_materials, case_world, open_case, world

__all__ = ["case_world", "world"]

pytestmark = [pytest.mark.django_db, pytest.mark.integration]


def _decide(world: World, case: Case, kind: str, number: str) -> Decision:
    return decision_record(
        actor=world.users[Role.FIELD_OFFICER],
        case_id=case.pk,
        kind=kind,
        document_number=number,
        summary="罚款五千元",
        legal_basis="《法律服务所管理办法》第五十条",
    )


def _ready_case(world: World, **overrides: object) -> Case:
    case = open_case(world, needs_review=False, **overrides)
    add_materials(world, case, kinds=(DocumentKind.INVESTIGATION_REPORT,))
    return case


def test_a_penalty_decision_is_offered_for_publication_within_seven_working_days(
    case_world: World, django_capture_on_commit_callbacks
) -> None:
    world = case_world
    with django_capture_on_commit_callbacks(execute=True):
        penalty = _decide(world, _ready_case(world), "penalty", "平司罚决〔2026〕7号")
    with django_capture_on_commit_callbacks(execute=True):
        _decide(world, _ready_case(world), "no_penalty", "平司不罚〔2026〕1号")
    with django_capture_on_commit_callbacks(execute=True):
        minor = _decide(
            world,
            _ready_case(world, party_name="李某", party_kind="natural", party_minor=True),
            "penalty",
            "平司罚决〔2026〕8号",
        )

    items = {item.source_key: item for item in PublicItem.objects.filter(source=DECISION_SOURCE)}
    assert set(items) == {str(penalty.pk), str(minor.pk)}  # 不予处罚 has no 公示 duty here
    item = items[str(penalty.pk)]
    assert (item.category, item.state, item.decided_on) == (
        "penalty",
        "pending",
        penalty.decided_on,
    )
    assert item.publish_by == add_working_days(penalty.decided_on, 7).date
    fields = dict(item.fields)
    assert fields["决定书编号"] == "平司罚决〔2026〕7号"
    assert fields["被处罚主体"] == "某法律咨询公司"
    assert fields["处罚依据"] == "《法律服务所管理办法》第五十条"
    assert fields["处罚主体"] == world.bureau.name
    assert "行政复议" in fields["救济途径"]
    assert items[str(minor.pk)].state == ItemState.EXCLUDED


def test_the_redrive_offers_a_decision_whose_receiver_never_ran(case_world: World) -> None:
    world = case_world
    decision = _decide(
        world, _ready_case(world), "penalty", "平司罚决〔2026〕9号"
    )  # no commit hooks
    assert not PublicItem.objects.filter(source=DECISION_SOURCE).exists()
    assert publication_sources_redrive() == 1
    assert PublicItem.objects.get(source=DECISION_SOURCE).source_key == str(decision.pk)
    assert publication_sources_redrive() == 0


def test_a_decided_case_makes_its_recordings_evidence(
    case_world: World, django_capture_on_commit_callbacks
) -> None:
    world = case_world
    recording = world.recordings["own"]
    case = _ready_case(world)
    case_recording_link(
        actor=world.users[Role.FIELD_OFFICER],
        case_id=case.pk,
        recording_id=str(recording.pk),
        reason="现场检查全程记录",
    )
    assert recordings_for_reference("case", case.number) == {recording.pk}
    before = RecordingRetention.objects.filter(recording=recording).first()
    assert before is None or ",evidence," not in before.categories
    with django_capture_on_commit_callbacks(execute=True):
        _decide(world, case, "penalty", "平司罚决〔2026〕10号")
    after = RecordingRetention.objects.get(recording=recording)
    assert ",evidence," in after.categories
    assert case.number in after.case_refs


def test_a_revoked_decision_leaves_the_public_site_at_once_with_a_notice(
    case_world: World, django_capture_on_commit_callbacks
) -> None:
    world = case_world
    officer = world.users[Role.FIELD_OFFICER]
    with django_capture_on_commit_callbacks(execute=True):
        shown = _decide(world, _ready_case(world), "penalty", "平司罚决〔2026〕11号")
    with django_capture_on_commit_callbacks(execute=True):
        waiting = _decide(world, _ready_case(world), "penalty", "平司罚决〔2026〕12号")
    item = PublicItem.objects.get(source=DECISION_SOURCE, source_key=str(shown.pk))
    public_item_publish(item_id=item.pk, actor=world.users[Role.SUPERVISOR])
    assert public_item(item.pk)["public_title"]

    with pytest.raises(PermissionDenied):
        decision_revoke(
            actor=world.users[Role.SUPERVISOR], case_id=shown.case_id, ground="revoked", reason="x"
        )
    for decision in (shown, waiting):
        with django_capture_on_commit_callbacks(execute=True):
            decision_revoke(
                actor=officer, case_id=decision.case_id, ground="revoked", reason="复议机关决定撤销"
            )
    with pytest.raises(Conflict) as twice:
        decision_revoke(actor=officer, case_id=shown.case_id, ground="unlawful", reason="再次")
    assert twice.value.code == "already_revoked"

    item.refresh_from_db()
    assert item.state == ItemState.WITHDRAWN
    assert "平司罚决〔2026〕11号" in item.end_reason and "决定被撤销" in item.end_reason
    notice = public_item(item.pk)
    assert notice["public_title"] == "" and notice["end_reason"] == item.end_reason
    never_shown = PublicItem.objects.get(source=DECISION_SOURCE, source_key=str(waiting.pk))
    assert never_shown.state == ItemState.WITHDRAWN
    with pytest.raises(NotFound):
        public_item(never_shown.pk)
    assert publication_sources_redrive() == 0  # a revoked decision is never offered again

"""Publication's rules: deadlines in working days across holidays, de-identification,
exclusion, withdrawal, take-down on the right day, versions (what was public when) and
the tallies kept equal to a recount."""

from __future__ import annotations

import dataclasses
import datetime
import io
import json
from typing import Any

import chinese_calendar
import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.utils import timezone

from backend.audit.models import AuditEvent
from backend.config.errors import Conflict
from backend.publication.models import ItemState, PublicationTally, PublicItem
from backend.publication.services import items as services
from backend.publication.services.masking import mask_name, public_text
from backend.publication.services.tallies import kept, recount, tallies_rebuild
from backend.workcalendar.selectors import working_calendar
from tests.publication.conftest import (
    PARTY,
    PARTY_ADDRESS,
    PARTY_ID,
    PARTY_PHONE,
    Bureau,
    offer,
    penalty_offer,
)

pytestmark = pytest.mark.django_db


def _seven_working_days_by_the_package(day: datetime.date) -> datetime.date:
    """An independent count: the official arrangement as the chinese_calendar package has it."""
    counted = 0
    while counted < 7:
        day += datetime.timedelta(days=1)
        if chinese_calendar.is_workday(day):
            counted += 1
    return day


def test_deadline_across_the_national_day_holiday(bureaus: tuple[Bureau, Bureau]) -> None:
    """A decision of 30 September: the seven working days skip the 国庆 holiday and count
    the make-up working days (调休), as the official arrangement says."""
    own, _other = bureaus
    year = max(d.year for d in chinese_calendar.holidays)
    decided = datetime.date(year, 9, 30)
    item = offer(penalty_offer(own.unit, decided_on=decided))
    expected = _seven_working_days_by_the_package(decided)
    assert (expected - decided).days > 10  # the holiday is really in between
    assert item.publish_by == expected
    assert item.publish_by_provisional is False
    inspection_like = offer(
        dataclasses.replace(penalty_offer(own.unit, decided_on=decided), category="inspection")
    )
    assert inspection_like.publish_by == working_calendar().add_working_days(decided, 20).date


@pytest.mark.clock
def test_deadline_is_counted_from_the_local_day(bureaus: tuple[Bureau, Bureau]) -> None:
    own, _other = bureaus
    today = timezone.localdate()
    item = offer(penalty_offer(own.unit, decided_on=today))
    deadline = working_calendar().add_working_days(today, 7)
    assert (item.publish_by, item.publish_by_provisional) == (deadline.date, deadline.provisional)
    assert item.state == ItemState.PENDING


def test_masking_rules() -> None:
    assert mask_name("张三", natural_person=True) == "张某"
    assert mask_name("欧阳娜娜", natural_person=True) == "欧阳某"
    assert mask_name("某某律师事务所", natural_person=False) == "某某律师事务所"
    title, party, fields = public_text(
        title=f"{PARTY}案",
        fields=[
            ["当事人", f"{PARTY} {PARTY_ID} 15位110101900307123 {PARTY_ADDRESS} {PARTY_PHONE}"]
        ],
        party_name=PARTY,
        natural_person=True,
        withheld=[PARTY_ADDRESS],
    )
    text = title + party + str(fields)
    assert party == "张某" and title == "张某案"
    for secret in (PARTY, PARTY_ID, "110101900307123", PARTY_ADDRESS, PARTY_PHONE):
        assert secret not in text
    # A unified social credit code (letters inside) is an organisation's public identifier.
    _t, _p, kept_code = public_text(
        title="",
        fields=[["代码", "91140425MA0K12345X"]],
        party_name="甲所",
        natural_person=False,
        withheld=[],
    )
    assert kept_code == [["代码", "91140425MA0K12345X"]]


def test_publish_fixes_the_public_text_and_takedown_day(bureaus: tuple[Bureau, Bureau]) -> None:
    own, _other = bureaus
    item = offer(penalty_offer(own.unit))
    published = services.public_item_publish(item_id=item.pk, actor=own.legal)
    assert published.state == ItemState.PUBLISHED
    assert published.public_party == "张某"
    public = str(published.public_fields) + published.public_title + published.public_search
    for secret in (PARTY, PARTY_ID, PARTY_ADDRESS, PARTY_PHONE):
        assert secret not in public
    today = timezone.localdate(published.published_at)
    assert published.takedown_on == services.years_later(today, 2)  # a natural person: 2 years
    # Publishing twice changes nothing; a later offer of the same decision neither.
    assert services.public_item_publish(item_id=item.pk, actor=own.legal).published_at == (
        published.published_at
    )
    again = offer(penalty_offer(own.unit, key=item.source_key, party="李四"))
    assert again.pk == item.pk and again.party_name == PARTY
    assert [v.action for v in published.versions.all()] == ["published"]
    assert AuditEvent.objects.filter(
        action="public_item.published", object_id=str(item.pk)
    ).exists()


def test_organisation_stays_five_years(bureaus: tuple[Bureau, Bureau]) -> None:
    own, _other = bureaus
    item = offer(penalty_offer(own.unit, party="某某律师事务所", natural=False))
    published = services.public_item_publish(item_id=item.pk, actor=own.legal)
    assert published.public_party == "某某律师事务所"
    assert published.takedown_on == services.years_later(
        timezone.localdate(published.published_at), 5
    )


def test_minor_is_excluded_by_law_and_cannot_be_published(bureaus: tuple[Bureau, Bureau]) -> None:
    own, _other = bureaus
    item = offer(penalty_offer(own.unit, minor=True))
    assert item.state == ItemState.EXCLUDED and item.exclusion_ground == "minor"
    with pytest.raises(Conflict):
        services.public_item_publish(item_id=item.pk, actor=own.supervisor)


def test_exclusion_needs_ground_reason_and_approver(bureaus: tuple[Bureau, Bureau]) -> None:
    own, _other = bureaus
    item = offer(penalty_offer(own.unit))
    excluded = services.public_item_exclude(
        item_id=item.pk, ground="secret", reason="涉及商业秘密", approver=own.supervisor
    )
    assert excluded.state == ItemState.EXCLUDED
    assert excluded.exclusion_approved_by == own.supervisor
    # The database refuses an exclusion without an approver, whatever the code path.
    other = offer(penalty_offer(own.unit))
    with pytest.raises(IntegrityError), transaction.atomic():
        PublicItem.objects.filter(pk=other.pk).update(state="excluded", exclusion_ground="secret")


def test_withdrawal_keeps_what_was_public_when(bureaus: tuple[Bureau, Bureau]) -> None:
    own, _other = bureaus
    item = offer(penalty_offer(own.unit))
    services.public_item_publish(item_id=item.pk, actor=own.legal)
    with pytest.raises(Conflict):  # too late to exclude what is public: withdraw it
        services.public_item_exclude(
            item_id=item.pk, ground="secret", reason="晚了", approver=own.supervisor
        )
    withdrawn = services.public_item_withdraw(
        item_id=item.pk, reason="原处罚决定已被依法撤销", actor=own.supervisor
    )
    assert withdrawn.state == ItemState.WITHDRAWN
    versions = list(withdrawn.versions.values_list("action", "public"))
    assert versions[0][0] == "published" and versions[0][1]["party"] == "张某"
    assert versions[1] == ("withdrawn", {})
    with pytest.raises(Conflict):
        services.public_item_withdraw(item_id=item.pk, reason="再撤", actor=own.supervisor)


@pytest.mark.clock
def test_take_down_on_the_right_day(bureaus: tuple[Bureau, Bureau]) -> None:
    own, _other = bureaus
    person = services.public_item_publish(
        item_id=offer(penalty_offer(own.unit)).pk, actor=own.legal
    )
    firm = services.public_item_publish(
        item_id=offer(penalty_offer(own.unit, party="某所", natural=False)).pk, actor=own.legal
    )
    assert person.takedown_on is not None and firm.takedown_on is not None
    day_before = person.takedown_on - datetime.timedelta(days=1)
    assert services.public_items_take_down_due(today=day_before) == 0
    assert services.public_items_take_down_due(today=person.takedown_on) == 1
    assert services.public_items_take_down_due(today=person.takedown_on) == 0  # idempotent
    person.refresh_from_db()
    firm.refresh_from_db()
    assert (person.state, firm.state) == (ItemState.EXPIRED, ItemState.PUBLISHED)
    assert services.public_items_take_down_due(today=firm.takedown_on) == 1


def test_tallies_equal_a_recount(bureaus: tuple[Bureau, Bureau]) -> None:
    own, other = bureaus
    published = [
        services.public_item_publish(item_id=offer(penalty_offer(unit)).pk, actor=user)
        for unit, user in ((own.unit, own.legal), (own.unit, own.legal), (other.unit, other.legal))
    ]
    services.public_item_withdraw(item_id=published[0].pk, reason="撤销", actor=own.legal)
    offer(penalty_offer(own.unit, minor=True))
    services.public_item_exclude(
        item_id=offer(penalty_offer(own.unit)).pk,
        ground="security",
        reason="稳定",
        approver=own.supervisor,
    )
    assert kept() == recount()
    year = timezone.localdate().year
    row = PublicationTally.objects.get(
        year=year, unit=own.unit, category="penalty", measure="published"
    )
    assert row.count == 2
    PublicationTally.objects.filter(pk=row.pk).update(count=99)  # drift
    # The one proof command for every maintained aggregate reports it and exits 1.
    out = io.StringIO()
    with pytest.raises(SystemExit):
        call_command("aggregates_rebuild", "--check", stdout=out)
    [drift] = json.loads(out.getvalue())["publication_tallies"]["shown"]
    assert drift == {
        "key": [year, own.unit.pk, "penalty", "published"],
        "kept": 99,
        "recounted": 2,
    }
    assert tallies_rebuild() == (False, len(recount()))
    assert tallies_rebuild()[0] is True
    assert kept() == recount()


def test_deadlines_recomputed_when_a_year_is_entered(
    bureaus: tuple[Bureau, Bureau], monkeypatch: Any
) -> None:
    from backend.audit.services import Actor

    own, _other = bureaus
    item = offer(penalty_offer(own.unit))
    PublicItem.objects.filter(pk=item.pk).update(
        publish_by_provisional=True, publish_by=item.publish_by + datetime.timedelta(days=3)
    )
    assert services.public_item_deadlines_recompute(None, Actor.system()) == 1
    item.refresh_from_db()
    assert item.publish_by == working_calendar().add_working_days(item.decided_on, 7).date
    assert services.public_item_deadlines_recompute(None, Actor.system()) == 0

"""定位率 from positions (not in-person contact) on a scripted month, and the privacy of
tracks: scoping to the subject's office and its supervisors, the track-view register,
retention and the audited purge."""

from __future__ import annotations

import calendar
import datetime
import uuid

import pytest
from django.core.management import call_command
from django.db import DatabaseError, transaction
from django.test import Client
from django.utils import timezone

from backend.accounts.models import Role, UnitKind
from backend.audit.models import AuditEvent
from backend.config.errors import InvalidInput
from backend.corrections.models import Position, Subject, TrackView
from backend.corrections.selectors import office_month_figures, office_year_located
from backend.corrections.services import positions_purge, subject_create
from backend.wiring.management.commands.fieldwork_periodic import fieldwork_periodic
from tests.factories import make_device, make_officer, make_unit, make_user
from tests.fieldwork.conftest import World


def _scripted_month() -> tuple[int, int, datetime.date, datetime.date]:
    """The month before the current local month: complete, in the past at any hour."""
    today = timezone.localdate()
    last = today.replace(day=1) - datetime.timedelta(days=1)
    return last.year, last.month, last.replace(day=1), last


def _at(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    zone = timezone.get_current_timezone()
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=zone)


def _positions(device, subject: Subject, times, **extra) -> list[Position]:  # type: ignore[no-untyped-def]
    now = timezone.now()
    return [
        Position(
            device=device,
            client_id=uuid.uuid4(),
            subject=subject,
            recorded_at=t,
            device_recorded_at=t,
            received_at=now,
            latitude=23.2,
            longitude=113.2,
            accuracy_m=extra.get("accuracy_m", 15.0),
            source="gps",
            battery=70,
            event=extra.get("event", ""),
        )
        for t in times
    ]


@pytest.mark.clock
@pytest.mark.django_db
def test_located_rate_on_a_scripted_month(world: World) -> None:
    year, month, first, last = _scripted_month()
    days = calendar.monthrange(year, month)[1]
    office = make_unit("定位率司法所", kind=UnitKind.OFFICE, parent=world.bureau)
    officer = make_officer(office, name="定位率矫正员")
    subjects = [
        subject_create(
            actor=world.supervisor,
            name=f"对象{i}",
            sentence_kind="probation",
            term_start=first - datetime.timedelta(days=40),
            term_end=last + datetime.timedelta(days=200),
            office=office,
            responsible_officer=officer,
            schedules=[],
        )
        for i in range(10)
    ]
    device, _token = make_device(kind="positioning")
    every_day = [first + datetime.timedelta(days=d) for d in range(days)]
    rows: list[Position] = []
    for s in subjects[:7]:  # seven of ten have a valid position every day
        rows += _positions(device, s, [_at(d, 9) for d in every_day])
        rows += _positions(device, s, [_at(d, 21) for d in every_day])  # two a day: one counts
    # poor accuracy and tamper events locate nobody
    rows += _positions(device, subjects[7], [_at(d, 10) for d in every_day], accuracy_m=5000.0)
    rows += _positions(device, subjects[8], [_at(d, 10) for d in every_day], event="tamper")
    # 00:10 local on the next month's first day is still this month's last day in UTC:
    # counted by the local day, it is not this month's.
    rows += _positions(device, subjects[9], [_at(last + datetime.timedelta(days=1), 0, 10)])
    # another office's subject, located every day, does not count here
    rows += _positions(device, world.south.subject, [_at(d, 12) for d in every_day])
    Position.objects.bulk_create(rows)

    figures = office_month_figures(office=office, year=year, month=month)
    assert (figures.located_subject_days, figures.active_subject_days) == (7 * days, 10 * days)
    assert figures.located_share == 0.7 and figures.located_meets_target is True
    assert (figures.subjects_located_day, figures.subjects_active) == (7, 10)
    assert figures.located_day_share == 0.7 and figures.as_of == last
    assert figures.subjects_contacted_30d == 0  # no in-person contact: the stand-in says 0

    # One day without a position: just under the target.
    Position.objects.filter(subject=subjects[0], recorded_at__date__gte=first).filter(
        recorded_at__gte=_at(first, 0), recorded_at__lt=_at(first + datetime.timedelta(days=1), 0)
    ).delete()
    figures = office_month_figures(office=office, year=year, month=month)
    assert figures.located_subject_days == 7 * days - 1
    assert figures.located_meets_target is False

    # The year's figure counts the same subject-days (the other months: none located).
    year_figure = office_year_located(office=office, year=year, today=last)
    assert year_figure.located == 7 * days - 1

    # The office figures card and the API show the figure with its definition.
    client = Client()
    client.force_login(world.supervisor)
    page = client.get("/corrections/", {"office": office.pk, "month": f"{year:04d}-{month:02d}"})
    text = page.content.decode()
    assert page.status_code == 200
    assert f"{(7 * days - 1) / (10 * days) * 100:.1f} %" in text
    assert 'id="fig-located-definition"' in text and "当日在册矫正对象数" in text
    body = client.get(
        "/api/corrections/figures", {"office_id": office.pk, "month": f"{year:04d}-{month:02d}"}
    ).json()
    assert body["located_subject_days"] == 7 * days - 1 and "定位率" in body["located_definition"]
    # The yearly report lists the office's 定位率 of the year with the definition.
    report = client.get(f"/publication/report/{year}/").content.decode()
    assert 'id="report-located"' in report and office.name in report
    # (to today: 对象9's position of this month's first day counts when it is the same year)
    in_year = 7 * days - 1 + (1 if (last + datetime.timedelta(days=1)).year == year else 0)
    assert f"<td>{in_year}</td>" in report and 'id="located-definition"' in report


def _track_url(subject: Subject) -> str:
    return f"/corrections/subjects/{subject.pk}/track/"


@pytest.mark.django_db
def test_track_visible_to_the_office_and_its_supervisors_only_and_registered(
    world: World,
) -> None:
    subject = world.north.subject
    device, _token = make_device(kind="positioning")
    Position.objects.bulk_create(
        _positions(
            device, subject, [timezone.now() - datetime.timedelta(minutes=m) for m in (1, 6)]
        )
    )
    # The local day of the latest position (the two may straddle local midnight).
    times = list(Position.objects.filter(subject=subject).values_list("recorded_at", flat=True))
    day = max(timezone.localtime(t).date() for t in times)
    on_day = sum(1 for t in times if timezone.localtime(t).date() == day)
    query = {"day": f"{day:%Y-%m-%d}", "purpose": "核查越界提醒"}

    officer = Client()
    officer.force_login(world.north.user)
    form = officer.get(_track_url(subject))
    assert form.status_code == 200 and "登记并查看" in form.content.decode()
    assert not TrackView.objects.exists()  # the form alone shows and registers nothing
    shown = officer.get(_track_url(subject), query)
    assert shown.status_code == 200
    assert 'id="track-registered"' in shown.content.decode()
    entry = TrackView.objects.get()
    assert (entry.user, entry.subject, entry.day, entry.positions) == (
        world.north.user,
        subject,
        day,
        on_day,
    )
    assert shown.content.decode().count("<tr") == on_day + 1  # the header and one per position
    assert entry.purpose == "核查越界提醒"
    event = AuditEvent.objects.get(action="correction_track.viewed")
    assert event.object_id == str(subject.pk) and event.data["register_entry"] == entry.pk

    supervisor = Client()
    supervisor.force_login(world.supervisor)
    assert supervisor.get(_track_url(subject), query).status_code == 200
    other_office = Client()
    other_office.force_login(world.south.user)
    assert other_office.get(_track_url(subject), query).status_code == 404
    for role in (Role.SYSTEM_ADMIN, Role.FIELD_OFFICER, Role.AUDITOR, Role.LEGAL_OFFICER):
        outsider = Client()
        outsider.force_login(make_user(role=role, unit=world.bureau))
        assert outsider.get(_track_url(subject), query).status_code == 403, role
    assert TrackView.objects.count() == 2  # the officer's and the supervisor's views only

    # The register: the bureau's supervisor sees both views; the other office none.
    listed = supervisor.get("/corrections/track-register/").content.decode()
    assert listed.count("核查越界提醒") == 2
    assert "核查越界提醒" not in other_office.get("/corrections/track-register/").content.decode()
    # Append-only: the database refuses to change or delete an entry.
    with pytest.raises(DatabaseError), transaction.atomic():
        TrackView.objects.filter(pk=entry.pk).update(purpose="改过")
    with pytest.raises(DatabaseError), transaction.atomic():
        TrackView.objects.filter(pk=entry.pk).delete()


@pytest.mark.django_db
def test_positions_purged_after_the_retention_period_audited(world: World, settings) -> None:  # type: ignore[no-untyped-def]
    settings.FV_POSITION_RETENTION_DAYS = 30
    subject = world.north.subject
    device, _token = make_device(kind="positioning")
    now = timezone.now()
    old = [now - datetime.timedelta(days=31, minutes=m) for m in range(5)]
    recent = [now - datetime.timedelta(days=29, minutes=m) for m in range(3)]
    Position.objects.bulk_create(_positions(device, subject, old + recent))

    call_command("corrections_positions_purge")
    assert Position.objects.filter(subject=subject).count() == 3
    event = AuditEvent.objects.get(action="correction_positions.purged")
    assert event.data["purged"] == 5 and event.data["retention_days"] == 30
    # Repeated: nothing more to remove, and no audit noise from the periodic pass.
    assert fieldwork_periodic()["positions_purged"] == 0
    assert AuditEvent.objects.filter(action="correction_positions.purged").count() == 1
    assert positions_purge(retention_days=1).purged == 3
    assert not Position.objects.exists()
    assert AuditEvent.objects.filter(action="correction_positions.purged").count() == 2
    # A retention period under a day is refused.
    with pytest.raises(InvalidInput):
        positions_purge(retention_days=0)

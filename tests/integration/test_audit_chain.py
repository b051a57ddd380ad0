import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from backend.audit.models import AuditEvent
from backend.audit.services import (
    Actor,
    AuditEntry,
    audit_record,
    audit_record_many,
    audit_verify,
)

pytestmark = pytest.mark.django_db


def _three_events() -> list[AuditEvent]:
    return [
        audit_record(
            actor=Actor.system(),
            action="test.event",
            object_type="thing",
            object_id=i,
            data={"n": i, "text": "进入调查取证场所"},
        )
        for i in range(3)
    ]


def test_chain_links_each_entry_to_the_previous() -> None:
    events = _three_events()
    assert [e.sequence for e in events] == [1, 2, 3]
    assert events[1].previous_hash == events[0].entry_hash
    assert events[2].previous_hash == events[1].entry_hash
    assert audit_verify().intact
    call_command("audit_verify")


def test_many_entries_appended_at_once_continue_the_same_chain() -> None:
    first = audit_record(actor=Actor.system(), action="test.single")
    assert audit_record_many([]) == []
    batch = audit_record_many(
        AuditEntry(
            actor=Actor.system(),
            action="test.batch",
            object_type="activity",
            object_id=i,
            data={"n": i, "when": first.occurred_at},
        )
        for i in range(5)
    )
    last = audit_record(actor=Actor.system(), action="test.single")
    assert [e.sequence for e in batch] == [2, 3, 4, 5, 6] and last.sequence == 7
    assert batch[0].previous_hash == first.entry_hash
    assert last.previous_hash == batch[-1].entry_hash
    stored = list(AuditEvent.objects.filter(action="test.batch").order_by("sequence"))
    assert [e.object_id for e in stored] == ["0", "1", "2", "3", "4"]
    assert [e.entry_hash for e in stored] == [e.entry_hash for e in batch]
    assert stored[0].data == {"n": 0, "when": str(first.occurred_at)}  # as hashed
    assert audit_verify().intact


@pytest.mark.usefixtures("tamper")
def test_an_entry_written_in_a_batch_is_checked_like_any_other() -> None:
    audit_record_many(AuditEntry(actor=Actor.system(), action="test.batch") for _ in range(3))
    AuditEvent.objects.filter(sequence=2).update(action="test.forged")
    report = audit_verify()
    assert not report.intact and any("#2" in problem for problem in report.problems)


@pytest.fixture
def tamper() -> None:
    """Simulate an attacker with DDL rights: switch the append-only trigger off."""
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER USER")


def test_the_database_refuses_edits_and_deletes() -> None:
    events = _three_events()
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=events[0].pk).update(action="forged")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=events[0].pk).delete()
    assert AuditEvent.objects.get(pk=events[0].pk).action == "test.event"


@pytest.mark.usefixtures("tamper")
def test_edited_entry_is_detected() -> None:
    events = _three_events()
    AuditEvent.objects.filter(pk=events[1].pk).update(data={"n": 99})
    report = audit_verify()
    assert not report.intact
    assert any("#2" in problem and "altered" in problem for problem in report.problems)
    with pytest.raises(CommandError):
        call_command("audit_verify")


@pytest.mark.usefixtures("tamper")
def test_deleted_entry_in_the_middle_is_detected() -> None:
    events = _three_events()
    AuditEvent.objects.filter(pk=events[1].pk).delete()
    report = audit_verify()
    assert any("missing" in problem for problem in report.problems)


@pytest.mark.usefixtures("tamper")
def test_deleted_last_entry_is_detected_by_the_head() -> None:
    events = _three_events()
    AuditEvent.objects.filter(pk=events[2].pk).delete()
    report = audit_verify()
    assert any("chain head" in problem for problem in report.problems)

"""The real scheduler (`python -m ops.scheduler`) on the test database and SeaweedFS: each
pass runs and runs again, a failing pass does not stop the others, SIGTERM stops it."""

from __future__ import annotations

import datetime
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from backend.accounts.models import Officer, Role, Unit, UnitKind, User
from backend.corrections.models import OverdueAlert, Subject
from backend.corrections.services import ScheduleInput, subject_create
from backend.footage.models import Recording
from backend.retention.models import FixityCheck, RecordingRetention
from tests.factories import make_officer, make_stored_original, make_unit, make_user
from tests.processes import deployed_environment

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
INTERVAL_SECONDS = 1.0


def scheduler_environment(tmp_path: Path) -> dict[str, str]:
    """The scheduler as deployed, passing every second."""
    return deployed_environment(tmp_path, FV_SCHEDULER_INTERVAL_SECONDS=str(INTERVAL_SECONDS))


def stored_without_retention(officer: Officer) -> Recording:
    """A recording whose original is in S3 (locked) but which has no retention row yet:
    retention_periodic creates the row and checks the original's fixity."""
    return make_stored_original(officer=officer)


def subject_never_checked_in(office: Unit, officer: Officer, supervisor: User) -> Subject:
    """A subject due to check in monthly for the last 100 days who never did:
    fieldwork_periodic raises overdue alerts for the months that are over."""
    today = timezone.localdate()
    return subject_create(
        actor=supervisor,
        name=f"对象-{uuid.uuid4().hex[:6]}",
        sentence_kind="probation",
        term_start=today - datetime.timedelta(days=100),
        term_end=today + datetime.timedelta(days=365),
        office=office,
        responsible_officer=officer,
        schedules=[ScheduleInput(kind="check_in", frequency="monthly", times=1)],
    )


def wait_for(condition: Callable[[], bool], what: str, log: Path, timeout: float = 90) -> None:
    # Generous: each pass is a fresh Django process (seconds each on a loaded 2-core machine);
    # the test is about whether passes repeat and survive a failing one, not how fast.
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}\n{log.read_text(errors='replace')[-4000:]}")


def retention_done(recording: Recording) -> Callable[[], bool]:
    """retention_periodic ran: the recording has its retention row and a fixity check."""

    def done() -> bool:
        return (
            RecordingRetention.objects.filter(recording_id=recording.pk).exists()
            and FixityCheck.objects.filter(recording_id=recording.pk, outcome="ok").exists()
        )

    return done


def passes_done(recording: Recording, subject: Subject) -> Callable[[], bool]:
    """Both passes ran: fieldwork_periodic raised the subject's overdue check-in alerts."""
    retention = retention_done(recording)

    def done() -> bool:
        return (
            retention() and OverdueAlert.objects.filter(subject=subject, kind="check_in").exists()
        )

    return done


def test_scheduler_runs_each_pass_again_despite_a_failing_one_and_stops_on_sigterm(
    s3: Any, tmp_path: Path
) -> None:
    bureau = make_unit(kind=UnitKind.BUREAU)
    office = make_unit(kind=UnitKind.OFFICE, parent=bureau)
    officer = make_officer(office)
    supervisor = make_user(role=Role.SUPERVISOR, unit=bureau)
    first_recording = stored_without_retention(officer)
    first_subject = subject_never_checked_in(office, officer, supervisor)

    log = tmp_path / "scheduler.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ops.scheduler",
                # Listed first: it fails at every tick, before the real passes run.
                "--pass",
                "no_such_periodic_pass",
                "--pass",
                f"retention_periodic --interval {INTERVAL_SECONDS:g}",
                "--pass",
                "fieldwork_periodic",
            ],
            cwd=ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
            env=scheduler_environment(tmp_path),
        )
    try:
        wait_for(passes_done(first_recording, first_subject), "the first tick", log)
        # New work after the first tick: only the next tick, after the failing pass has
        # failed again, can do it.
        second_recording = stored_without_retention(officer)
        wait_for(retention_done(second_recording), "the next tick", log)
        assert process.poll() is None, log.read_text(errors="replace")

        asked_at = time.monotonic()
        process.send_signal(signal.SIGTERM)
        returncode = process.wait(timeout=5)
        stopped_after = time.monotonic() - asked_at
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    output_text = log.read_text(errors="replace")
    assert returncode == 0, output_text
    assert stopped_after < 3, output_text
    assert output_text.count("no_such_periodic_pass failed with exit code 1") >= 2, output_text
    assert "scheduler stopped" in output_text

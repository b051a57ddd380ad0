"""The scheduler's own logic (ops/scheduler.py): arguments, the interval, which pass is due
when, and that one pass failing does not stop the others. The real processes are tested in
tests/integration/test_scheduler_process.py."""

from __future__ import annotations

from typing import Any

import pytest

from ops import scheduler
from ops.scheduler import (
    DEFAULT_INTERVAL_SECONDS,
    Pass,
    Scheduler,
    arguments_parse,
    next_due_at,
    passes_build,
    passes_due,
    seconds_until_due,
)


def test_interval_defaults_to_fifteen_minutes() -> None:
    args = arguments_parse([], {})
    assert args.interval_seconds == DEFAULT_INTERVAL_SECONDS == 900
    assert args.once is False and args.commands is None


def test_interval_comes_from_the_environment_and_the_option_wins() -> None:
    environ = {"FV_SCHEDULER_INTERVAL_SECONDS": "2.5"}
    assert arguments_parse([], environ).interval_seconds == 2.5
    assert arguments_parse(["--interval-seconds", "60"], environ).interval_seconds == 60
    assert arguments_parse([], {"FV_SCHEDULER_INTERVAL_SECONDS": " "}).interval_seconds == 900


@pytest.mark.parametrize("raw", ["0", "-5", "soon", "nan", "inf"])
def test_an_interval_that_is_not_a_positive_number_is_refused(raw: str) -> None:
    with pytest.raises(SystemExit) as option:
        arguments_parse(["--interval-seconds", raw], {})
    assert option.value.code == 2
    with pytest.raises(SystemExit) as environment:
        arguments_parse([], {"FV_SCHEDULER_INTERVAL_SECONDS": raw})
    assert environment.value.code == 2


def test_default_passes_pace_fixity_to_the_interval() -> None:
    assert (
        passes_build(interval_seconds=300, environ={})
        == passes_build(interval_seconds=300, environ={"FV_ORIGINALS_REPLICA_BUCKET": "x"})[:-1]
    )  # one site: no replication pass
    passes = passes_build(interval_seconds=300, environ={"FV_ORIGINALS_REPLICA_BUCKET": "x"})
    assert [p.command for p in passes] == [
        ["retention_periodic", "--interval", "300"],
        ["fieldwork_periodic"],
        ["integrity_periodic"],
        ["staging_reclaim_abandoned"],
        ["storage_reconcile", "--trigger", "scheduled", "--due-days", "7"],
        ["replicate_originals"],
    ]
    assert all(p.every_seconds == 300 and p.due_at == 0 for p in passes[:-1])
    assert passes[-1].every_seconds == 60  # the second site's lag stays around a minute


def test_passes_given_on_the_command_line_replace_the_default() -> None:
    args = arguments_parse(
        ["--pass", "fieldwork_periodic --lookback-days 3", "--pass", "retention_periodic"], {}
    )
    passes = passes_build(interval_seconds=60, commands=args.commands)
    assert [p.command for p in passes] == [
        ["fieldwork_periodic", "--lookback-days", "3"],
        ["retention_periodic"],
    ]


def test_which_pass_is_due_and_how_long_to_sleep() -> None:
    early = Pass(["a"], 60, due_at=100)
    late = Pass(["b"], 60, due_at=130)
    assert passes_due([early, late], now=99) == []
    assert passes_due([early, late], now=100) == [early]
    assert passes_due([early, late], now=200) == [early, late]
    assert seconds_until_due([early, late], now=90) == 10
    assert seconds_until_due([early, late], now=120) == 0  # overdue: no sleep


def test_next_run_keeps_to_the_interval_without_catching_up_in_a_burst() -> None:
    # A 10 s run started at 100 with a 60 s interval: next at 160, not 170.
    assert next_due_at(started_at=100, finished_at=110, every_seconds=60) == 160
    # A run longer than the interval: the next one starts when it ends, just once.
    assert next_due_at(started_at=100, finished_at=400, every_seconds=60) == 400


def test_a_failing_or_crashing_pass_does_not_stop_the_next_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    runs: list[str] = []
    passes = [Pass(["crashes"], 0.01), Pass(["fails"], 0.01), Pass(["works"], 0.01)]
    loop = Scheduler(passes)

    def fake_run_pass(scheduled: Pass, **_: Any) -> int:
        runs.append(scheduled.name)
        if len(runs) >= 9:
            loop.request_stop()
        if scheduled.name == "crashes":
            raise OSError("manage.py vanished")
        return 1 if scheduled.name == "fails" else 0

    monkeypatch.setattr(scheduler, "run_pass", fake_run_pass)
    loop.run_forever()
    assert runs == ["crashes", "fails", "works"] * 3  # every tick ran every pass
    assert all(p.due_at > 0 for p in passes)


def test_a_stop_request_ends_the_loop_before_the_next_pass(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    runs: list[str] = []
    loop = Scheduler([Pass(["first"], 3600), Pass(["second"], 3600)])

    def fake_run_pass(scheduled: Pass, **_: Any) -> int:
        runs.append(scheduled.name)
        loop.request_stop()  # SIGTERM arrives during the first pass
        return 0

    monkeypatch.setattr(scheduler, "run_pass", fake_run_pass)
    loop.run_forever()  # returns: it does not sleep an hour
    assert runs == ["first"]

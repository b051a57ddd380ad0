"""The counted collector pause: overlapping pausers in two threads never leave the cyclic
garbage collector off, and a collector that was off stays off."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from media.garbage_collection import collector_paused


@pytest.fixture(autouse=True)
def collector_restored() -> Iterator[None]:
    was_enabled = gc.isenabled()
    yield
    if was_enabled:
        gc.enable()
    else:
        gc.disable()


def test_overlapping_pauses_in_two_threads_end_with_the_collector_on() -> None:
    gc.enable()
    first_inside = threading.Event()
    second_inside = threading.Event()
    first_may_leave = threading.Event()

    def first() -> None:
        with collector_paused():
            first_inside.set()
            first_may_leave.wait(5)

    def second() -> None:
        first_inside.wait(5)
        with collector_paused():
            second_inside.set()
            first_may_leave.set()
            # the first pauser leaves while this one is still inside
            thread_one.join(5)
            assert not gc.isenabled()

    thread_one = threading.Thread(target=first)
    thread_two = threading.Thread(target=second)
    thread_one.start()
    thread_two.start()
    thread_two.join(5)
    assert second_inside.is_set()
    assert gc.isenabled()


def test_an_error_inside_still_restores_the_collector() -> None:
    gc.enable()
    with pytest.raises(RuntimeError), collector_paused():
        assert not gc.isenabled()
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off() -> None:
    gc.disable()
    with collector_paused():
        pass
    assert not gc.isenabled()

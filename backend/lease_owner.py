"""Who holds a lease: one process, named so that a survivor can tell whether it is dead.

An owner is ``host:pid:start`` where ``start`` is the process's start time in clock
ticks since boot (``/proc/<pid>/stat`` field 22), so a recycled pid is not mistaken
for the process that took the lease. Only an owner on this host can be judged: a lease
of another host's process is left to expire. Django-free.
"""

from __future__ import annotations

import functools
import os
import socket


def _start_ticks(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            raw = handle.read().decode("ascii", "replace")
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may contain spaces.
    fields = raw[raw.rfind(")") + 2 :].split()
    if len(fields) <= 19 or fields[0] in ("Z", "X"):  # a zombie is dead: it holds nothing
        return None
    return fields[19]


@functools.cache
def _host() -> str:
    return socket.gethostname()[:100]


def current_owner() -> str:
    """This process as a lease owner (computed per call: a fork gets its own pid)."""
    pid = os.getpid()
    return f"{_host()}:{pid}:{_start_ticks(pid) or '0'}"


def owner_host(owner: str) -> str:
    return owner.rsplit(":", 2)[0] if owner.count(":") >= 2 else ""


def owner_is_dead(owner: str) -> bool:
    """True only when certain: the owner ran on this host and that process is gone."""
    if not owner or owner.count(":") < 2:
        return False
    host, pid_text, start = owner.rsplit(":", 2)
    if host != _host():
        return False
    try:
        pid = int(pid_text)
    except ValueError:
        return False
    ticks = _start_ticks(pid)
    return ticks is None or ticks != start


def dead_owners(owners: set[str]) -> set[str]:
    return {owner for owner in owners if owner_is_dead(owner)}

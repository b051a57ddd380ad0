"""Hook points: how a producer lets other apps react without importing them.

A producer declares a :class:`HookPoint` next to the code that fires it and calls
:meth:`HookPoint.fire`; it never imports a consumer. Which consumers react, and in which
order, is decided in exactly one place: ``backend/wiring/registry.py`` (the ``wiring`` app,
last in INSTALLED_APPS, connects every hook point once the app registry is ready).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


class HookPoint(Generic[P, R]):
    """An ordered list of receivers, all called with the producer's arguments."""

    def __init__(self, name: str, doc: str) -> None:
        self.name = name
        self.__doc__ = doc
        self._receivers: tuple[Callable[P, R], ...] = ()

    def connect(self, receivers: tuple[Callable[P, R], ...]) -> None:
        """Set the whole ordered list at once (backend.wiring only; idempotent)."""
        self._receivers = tuple(receivers)

    @property
    def receivers(self) -> tuple[Callable[P, R], ...]:
        return self._receivers

    def fire(self, *args: P.args, **kwargs: P.kwargs) -> list[R]:
        """Call every receiver in order; their results, in the same order."""
        return [receiver(*args, **kwargs) for receiver in self._receivers]

    def __iter__(self) -> Iterator[Callable[P, R]]:
        return iter(self._receivers)

    def __contains__(self, receiver: object) -> bool:
        return receiver in self._receivers

    def __repr__(self) -> str:
        return f"<HookPoint {self.name}: {len(self._receivers)} receiver(s)>"

"""The random draw of 双随机 (random targets, random inspectors): a pure, published algorithm.

Anyone holding a draw's recorded inputs and seed can re-run :func:`run_draw` (no database,
stdlib only) and must get the identical result; :func:`result_digest` gives the SHA-256 of
the canonical JSON of a result so a published result can be compared by its digest.

Algorithm ``fv-draw/1``:

* Random numbers: block *k* of label *L* is ``SHA-256(f"{seed}|{L}|{k}")``; its first 8
  bytes (big endian) are one 64-bit draw. ``uniform_below(n)`` rejects draws ≥ the largest
  multiple of *n* below 2**64 (no modulo bias) and returns ``draw % n``.
* Shuffle: Fisher–Yates from the last position down, ``j = uniform_below(i + 1)``.
* Targets: the sorted candidate target ids are shuffled with label ``"targets"``; the first
  ``ceil(len(targets) × ratio_percent / 100)`` are drawn, in that order.
* Inspectors, per drawn target in order: the sorted eligible inspector ids without a
  declared conflict with that target are shuffled with label ``"inspectors:<target id>"``;
  the first ``team_size`` form the team (sorted in the result). Fewer than ``team_size``
  candidates makes the draw impossible (:class:`DrawImpossibleError`).

Eligibility (a valid certificate on the draw day) is decided *before* this function, by the
caller, and recorded in the inputs: an inspector outside ``inspector_ids`` can never be drawn.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

ALGORITHM = "fv-draw/1"
_TWO_64 = 1 << 64


class DrawImpossibleError(ValueError):
    def __init__(self, message: str, *, target_id: int | None = None, available: int = 0):
        super().__init__(message)
        self.target_id = target_id
        self.available = available


class _Stream:
    def __init__(self, seed: str, label: str):
        self.seed = seed
        self.label = label
        self.counter = 0

    def next_u64(self) -> int:
        block = hashlib.sha256(f"{self.seed}|{self.label}|{self.counter}".encode()).digest()
        self.counter += 1
        return int.from_bytes(block[:8], "big")

    def uniform_below(self, n: int) -> int:
        if n <= 0:
            raise ValueError("n must be positive")
        limit = _TWO_64 - (_TWO_64 % n)
        while True:
            value = self.next_u64()
            if value < limit:
                return value % n


def shuffled(items: Sequence[int], *, seed: str, label: str) -> list[int]:
    result = list(items)
    stream = _Stream(seed, label)
    for i in range(len(result) - 1, 0, -1):
        j = stream.uniform_below(i + 1)
        result[i], result[j] = result[j], result[i]
    return result


def target_count(total: int, ratio_percent: Decimal) -> int:
    if total == 0 or ratio_percent <= 0:
        return 0
    return min(total, math.ceil(Decimal(total) * ratio_percent / Decimal(100)))


@dataclass(frozen=True)
class DrawInputs:
    target_ids: tuple[int, ...]
    inspector_ids: tuple[int, ...]
    conflicts: frozenset[tuple[int, int]]  # (officer id, target id)
    ratio_percent: Decimal
    team_size: int = 2

    def canonical(self) -> DrawInputs:
        return DrawInputs(
            target_ids=tuple(sorted(set(self.target_ids))),
            inspector_ids=tuple(sorted(set(self.inspector_ids))),
            conflicts=frozenset(self.conflicts),
            ratio_percent=self.ratio_percent,
            team_size=self.team_size,
        )


@dataclass(frozen=True)
class DrawnInspection:
    target_id: int
    inspector_ids: tuple[int, ...]


def run_draw(inputs: DrawInputs, *, seed: str) -> list[DrawnInspection]:
    inputs = inputs.canonical()
    if inputs.team_size < 1:
        raise ValueError("team_size must be ≥ 1")
    count = target_count(len(inputs.target_ids), inputs.ratio_percent)
    targets = shuffled(inputs.target_ids, seed=seed, label="targets")[:count]
    drawn: list[DrawnInspection] = []
    for target_id in targets:
        candidates = [
            officer_id
            for officer_id in inputs.inspector_ids
            if (officer_id, target_id) not in inputs.conflicts
        ]
        if len(candidates) < inputs.team_size:
            raise DrawImpossibleError(
                "not enough certified inspectors without a conflict for this target",
                target_id=target_id,
                available=len(candidates),
            )
        team = shuffled(candidates, seed=seed, label=f"inspectors:{target_id}")
        drawn.append(DrawnInspection(target_id, tuple(sorted(team[: inputs.team_size]))))
    return drawn


def result_as_json(result: list[DrawnInspection]) -> list[dict[str, Any]]:
    return [{"target_id": d.target_id, "inspector_ids": list(d.inspector_ids)} for d in result]


def result_digest(result_json: list[dict[str, Any]]) -> str:
    canonical = json.dumps(result_json, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def inputs_from_json(data: dict[str, Any]) -> DrawInputs:
    """Inputs as recorded in a draw (see RandomDraw.inputs)."""
    return DrawInputs(
        target_ids=tuple(int(t) for t in data["target_ids"]),
        inspector_ids=tuple(int(i["officer_id"]) for i in data["inspectors"]),
        conflicts=frozenset((int(o), int(t)) for o, t in data["conflicts"]),
        ratio_percent=Decimal(str(data["ratio_percent"])),
        team_size=int(data["team_size"]),
    )

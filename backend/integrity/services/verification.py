"""Verification inside: recompute each sealed day from the database and compare with what
was sealed, chained and timestamped. A difference names the day and the leaf."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable
from dataclasses import dataclass, field

from backend.integrity.models import DayRoot, Leaf
from backend.integrity.services.leaves import day_leaves
from backend.integrity.services.stamping import trust_anchors
from provenance.merkle import MerkleTree
from provenance.statements import GENESIS, statement_parse
from provenance.timestamps import TimestampInvalid, stamp_verify


@dataclass
class IntegrityReport:
    days: int = 0
    leaves: int = 0
    unstamped: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems


def _leaf_problem(day: str, index: int, stored: Leaf | None, now: bytes | None) -> str:
    if stored is None:
        return f"day {day} leaf {index}: in the database now but not in the sealed tree"
    label = f"day {day} leaf {index} ({stored.kind} {stored.object_id})"
    if now is None:
        return f"{label}: sealed, but no longer in the database"
    return f"{label}: the database now says {now.decode()} but the sealed leaf is {stored.data}"


def day_verify(root: DayRoot, report: IntegrityReport, *, anchors: list | None = None) -> None:
    day = root.day.isoformat()
    stored = list(Leaf.objects.filter(day=root).order_by("index"))
    current = [leaf.data for leaf in day_leaves(root.day)]
    report.days += 1
    report.leaves += len(stored)
    for index in range(max(len(stored), len(current))):
        sealed_leaf = stored[index] if index < len(stored) else None
        now = current[index] if index < len(current) else None
        if sealed_leaf is None or now is None or sealed_leaf.data.encode("utf-8") != now:
            report.problems.append(_leaf_problem(day, index, sealed_leaf, now))
    for leaf in stored:
        if hashlib.sha256(b"\x00" + leaf.data.encode("utf-8")).hexdigest() != leaf.leaf_hash:
            report.problems.append(f"day {day} leaf {leaf.index}: stored leaf hash altered")
    tree = MerkleTree([leaf.data.encode("utf-8") for leaf in stored])
    if tree.root.hex() != root.root or tree.size != root.tree_size:
        report.problems.append(
            f"day {day}: its leaves give root {tree.root.hex()}, the sealed root is {root.root}"
        )
    try:
        statement = statement_parse(root.statement.encode("utf-8"))
    except (ValueError, KeyError) as exc:
        report.problems.append(f"day {day}: statement unreadable ({exc})")
        return
    if statement.root != root.root or statement.day != day:
        report.problems.append(f"day {day}: the statement names another root or day")
    if statement.digest().hex() != root.statement_hash:
        report.problems.append(f"day {day}: statement hash altered")
    if root.stamp_token is None:
        report.unstamped.append(day)
        return
    anchors = trust_anchors() if anchors is None else anchors
    if not anchors:
        report.unstamped.append(f"{day} (token present, no FV_TSA_TRUST_ANCHOR to check it)")
        return
    try:
        stamp_verify(bytes(root.stamp_token), data=root.statement.encode("utf-8"), roots=anchors)
    except TimestampInvalid as exc:
        report.problems.append(
            f"day {day}: the timestamp token does not match the statement ({exc})"
        )


def chain_verify(roots: Iterable[DayRoot], report: IntegrityReport) -> None:
    previous_hash, previous_day = GENESIS, None
    for root in roots:
        if previous_day is not None and (root.day - previous_day).days != 1:
            report.problems.append(f"day {root.day}: days missing before it (from {previous_day})")
        if root.previous != previous_hash:
            report.problems.append(f"day {root.day}: does not chain to the day before")
        previous_hash, previous_day = root.statement_hash, root.day


def integrity_verify(*, sample: int | None = None) -> IntegrityReport:
    """Every day (or `sample` random days, plus the chain of all) recomputed and checked."""
    report = IntegrityReport()
    roots = list(DayRoot.objects.order_by("day"))
    chain_verify(roots, report)
    chosen = roots if sample is None else random.sample(roots, min(sample, len(roots)))
    anchors = trust_anchors()
    for root in sorted(chosen, key=lambda r: r.day):
        day_verify(root, report, anchors=anchors)
    return report

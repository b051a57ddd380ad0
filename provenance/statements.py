"""The log of day roots: each day's statement names its root and the previous day's
statement hash, so one timestamped statement commits to every day before it."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

FORMAT = "fieldvault-day-root/1"
GENESIS = "0" * 64


def canonical(value: object) -> bytes:
    """The one byte form of hashed JSON: sorted keys, no spaces, UTF-8."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode(
        "utf-8"
    )


@dataclass(frozen=True)
class DayStatement:
    installation: str
    day: str  # ISO local date
    tree_size: int
    root: str  # hex
    previous: str  # hex SHA-256 of the previous day's statement, GENESIS for the first

    def as_dict(self) -> dict[str, object]:
        return {
            "format": FORMAT,
            "installation": self.installation,
            "day": self.day,
            "tree_size": self.tree_size,
            "root": self.root,
            "previous": self.previous,
        }

    def to_bytes(self) -> bytes:
        return canonical(self.as_dict())

    def digest(self) -> bytes:
        return hashlib.sha256(self.to_bytes()).digest()


def statement_parse(raw: bytes) -> DayStatement:
    value = json.loads(raw.decode("utf-8"))
    if not isinstance(value, dict) or value.get("format") != FORMAT:
        raise ValueError("not a FieldVault day statement")
    statement = DayStatement(
        installation=str(value["installation"]),
        day=str(value["day"]),
        tree_size=int(value["tree_size"]),
        root=str(value["root"]),
        previous=str(value["previous"]),
    )
    if statement.to_bytes() != raw:
        raise ValueError("the statement is not in canonical form")
    return statement


def chain_check(statements: list[DayStatement]) -> list[str]:
    """Problems in a run of consecutive statements, oldest first (empty when they chain)."""
    problems = []
    previous = statements[0].previous if statements else GENESIS
    for statement in statements:
        if statement.previous != previous:
            problems.append(f"{statement.day}: does not chain to the day before")
        previous = statement.digest().hex()
    return problems

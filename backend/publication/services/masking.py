"""De-identification of what the public site shows (公示办法 第八条; 个人信息): a natural
person's name is masked (张三 → 张某), identity numbers and addresses are never published.

Pure functions, no Django: the one place that decides what leaves the building."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

WITHHELD = "（已隐去）"

# Resident identity numbers (18 digits, the last may be X; or the old 15 digits) and mobile
# numbers, wherever they appear in a free text. Bounded so that a 18-character unified
# social credit code with letters is not taken for one.
_IDENTITY = re.compile(
    r"(?<![0-9A-Za-z])(?:\d{6}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx]"
    r"|\d{6}\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}"
    r"|1[3-9]\d{9})(?![0-9A-Za-z])"
)


def mask_name(name: str, *, natural_person: bool, mask: str = "某") -> str:
    """张三 → 张某, 欧阳娜娜 → 欧阳某 (a two-character surname kept whole); an organisation's
    name is public."""
    name = name.strip()
    if not natural_person or not name:
        return name
    surname_length = 2 if name[:2] in COMPOUND_SURNAMES and len(name) > 2 else 1
    return name[:surname_length] + mask


COMPOUND_SURNAMES = frozenset(
    (
        *("欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙"),
        *("慕容", "长孙", "宇文", "司徒", "夏侯", "令狐", "端木", "独孤"),
    )
)


def scrub(text: str, *, party_name: str, public_party: str, withheld: Iterable[str]) -> str:
    """The text with the party's full name replaced by its public form and every identity
    number, phone number and withheld text (addresses …) removed."""
    for secret in sorted({w.strip() for w in withheld if w and w.strip()}, key=len, reverse=True):
        text = text.replace(secret, WITHHELD)
    if party_name and party_name != public_party:
        text = text.replace(party_name, public_party)
    return _IDENTITY.sub(WITHHELD, text)


def public_text(
    *,
    title: str,
    fields: Sequence[Sequence[str]],
    party_name: str,
    natural_person: bool,
    withheld: Iterable[str],
) -> tuple[str, str, list[list[str]]]:
    """(public title, public party, public fields) for an offered item."""
    withheld = list(withheld)
    party = mask_name(party_name, natural_person=natural_person)

    def clean(text: str) -> str:
        return scrub(text, party_name=party_name, public_party=party, withheld=withheld)

    return clean(title), party, [[clean(label), clean(value)] for label, value in fields]

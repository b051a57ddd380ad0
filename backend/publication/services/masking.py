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


# -- the case library's de-identification (脱密脱敏) builds on the same rules --------------

_PLATE = re.compile(
    r"[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼]"
    r"[A-HJ-NP-Z][A-HJ-NP-Z0-9]{4,5}[A-HJ-NP-Z0-9挂学警港澳]"
)
_BIRTH_DATE = re.compile(
    r"((?:19|20)\d{2})\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日(?=\s*(?:出生|生))"
    r"|(?<=出生于)((?:19|20)\d{2})\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日"
)
# The same numbers as people write them: mobiles with +86 or split by spaces or dashes,
# identity numbers in groups (6-8-4), dates of birth with dashes or dots.
_SEPARATED_MOBILE = re.compile(
    r"(?<![0-9])(?:(?:\+|00)86[\s\-]?1[3-9]\d[\s\-]?\d{4}[\s\-]?\d{4}"
    r"|1[3-9]\d[\s\-]\d{4}[\s\-]\d{4})(?![0-9])"
)
_GROUPED_IDENTITY = re.compile(r"(?<![0-9A-Za-z])\d{6}[\s\-]\d{8}[\s\-]\d{3}[\dXx](?![0-9A-Za-z])")
_DASHED_BIRTH_DATE = re.compile(r"((?:19|20)\d{2})[\-./]\d{1,2}[\-./]\d{1,2}(?=\s*(?:出生|生))")
# An exact address: down to the house, the building or the village group.
_STREET_ADDRESS = re.compile(
    r"[\u4e00-\u9fff]{1,12}(?:路|街|大道|巷|弄|村|小区|花园|社区)"
    r"[\u4e00-\u9fff0-9\-－]{0,12}?\d+\s*(?:号|栋|幢|组|队|单元|室|号楼)"
    r"(?:[\d\-－]*(?:号|栋|幢|组|单元|室|楼))*"
)


def alias_for(name: str, taken: set[str]) -> str:
    """The alias of a person in a case text: 张三 → 张某, a second 张 → 张某某, then 张某甲,
    张某乙 … (one alias per person, never two persons with one alias)."""
    base = mask_name(name, natural_person=True)
    candidates = [base, base + "某", *(base + suffix for suffix in "甲乙丙丁戊己庚辛壬癸")]
    for candidate in candidates:
        if candidate not in taken:
            return candidate
    return base + str(len(taken))


def identifiers_in(text: str) -> list[tuple[str, str, str]]:
    """(kind, the text found, what replaces it) for every identity number, mobile number,
    plate number, date of birth and exact address in `text`, in order of appearance;
    kinds: id_number, phone, plate, birth_date, address."""
    found: list[tuple[int, str, str, str]] = []
    for match in _IDENTITY.finditer(text):
        kind = "phone" if len(match.group(0)) == 11 else "id_number"
        found.append((match.start(), kind, match.group(0), WITHHELD))
    for match in _SEPARATED_MOBILE.finditer(text):
        found.append((match.start(), "phone", match.group(0), WITHHELD))
    for match in _GROUPED_IDENTITY.finditer(text):
        found.append((match.start(), "id_number", match.group(0), WITHHELD))
    for match in _DASHED_BIRTH_DATE.finditer(text):
        found.append((match.start(), "birth_date", match.group(0), f"{match.group(1)}年"))
    for match in _PLATE.finditer(text):
        plate = match.group(0)
        found.append((match.start(), "plate", plate, plate[:2] + "×" * (len(plate) - 2)))
    for match in _BIRTH_DATE.finditer(text):
        year = match.group(1) or match.group(2)
        found.append((match.start(), "birth_date", match.group(0), f"{year}年"))
    for match in _STREET_ADDRESS.finditer(text):
        found.append((match.start(), "address", match.group(0), WITHHELD))
    found.sort()
    return [(kind, original, replacement) for _start, kind, original, replacement in found]

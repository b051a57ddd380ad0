"""An identifier detector independent of the masking code (backend/publication/services/
masking.py): its own patterns, written from the formats themselves, so that a gap in the
masker is caught here rather than repeated. Pure Python: no Django, no app (an import-linter
contract in pyproject.toml holds it apart from publication).

It errs on the side of finding: a case cannot be submitted while it finds anything
(backend/caselibrary/services/review.py). Recall on a labelled synthetic set:
tests/bench/bench_library_detector.py."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

# 18-character resident identity numbers, also written in groups (4403 0119 9001 0112 34)
# or with the check character in lower case; the old 15-digit form.
_ID_18 = re.compile(
    r"(?<![0-9A-Za-z])[1-9]\d{5}[\s\-]?(?:18|19|20)\d{2}[\s\-]?[01]\d[0-3]\d[\s\-]?\d{3}[0-9Xx]"
    r"(?![0-9A-Za-z])"
)
_ID_15 = re.compile(r"(?<![0-9A-Za-z])[1-9]\d{7}[01]\d[0-3]\d\d{3}(?![0-9A-Za-z])")
# Mobile numbers, also +86 / 0086 and split by spaces or dashes (138-1234-5678); landlines
# with an area code (0771-1234567).
_MOBILE = re.compile(r"(?<![0-9])(?:(?:\+|00)86[\s\-]?)?1[3-9]\d[\s\-]?\d{4}[\s\-]?\d{4}(?![0-9])")
_LANDLINE = re.compile(r"(?<![0-9])0\d{2,3}[\-\s]\d{7,8}(?![0-9])")
_PLATE = re.compile(
    r"[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼使领]\s?[A-Z]"
    r"[\s·•]?[A-Z0-9]{5,6}(?![A-Z0-9])"
)
_BIRTH = re.compile(
    r"(?:19|20)\d{2}\s*[年\-./]\s*\d{1,2}\s*[月\-./]\s*\d{1,2}\s*日?\s*(?:出生|生人|生)"
    r"|出生(?:日期|年月日|于)[：:\s]*(?:19|20)\d{2}\s*[年\-./]\s*\d{1,2}\s*[月\-./]\s*\d{1,2}\s*日?"
)
_LABELLED_NAME = re.compile(
    r"(?:姓名|当事人|申请人|被申请人|矫正对象)[：:]\s*([\u4e00-\u9fff]{2,4})"
)
_ALIAS = re.compile(r"^[\u4e00-\u9fff]{1,2}某")


@dataclass(frozen=True)
class Finding:
    kind: str  # id_number, phone, plate, birth_date, name
    text: str
    start: int


def _digits(text: str) -> str:
    return re.sub(r"[\s\-+]", "", text)


def find_identifiers(text: str, *, known_names: Iterable[str] = ()) -> list[Finding]:
    """Every identifier still in `text`: identity, mobile and landline numbers, plates,
    dates of birth, the real names given (the parties known from the source data) and any
    name written after a label (姓名：…) that is not an alias (张某)."""
    findings: list[Finding] = []
    for pattern, kind in (
        (_ID_18, "id_number"),
        (_ID_15, "id_number"),
        (_MOBILE, "phone"),
        (_LANDLINE, "phone"),
        (_PLATE, "plate"),
        (_BIRTH, "birth_date"),
    ):
        for match in pattern.finditer(text):
            if kind == "id_number" and len(_digits(match.group(0))) not in (15, 18):
                continue
            findings.append(Finding(kind, match.group(0), match.start()))
    for name in {n.strip() for n in known_names if n and len(n.strip()) >= 2}:
        start = text.find(name)
        while start != -1:
            findings.append(Finding("name", name, start))
            start = text.find(name, start + 1)
    for match in _LABELLED_NAME.finditer(text):
        if not _ALIAS.match(match.group(1)):
            findings.append(Finding("name", match.group(1), match.start(1)))
    # One finding per place: an identity number also read as a phone number counts once.
    unique: dict[int, Finding] = {}
    for finding in sorted(findings, key=lambda f: (f.start, -len(f.text))):
        if not any(s <= finding.start < s + len(f.text) for s, f in unique.items()):
            unique[finding.start] = finding
    return list(unique.values())

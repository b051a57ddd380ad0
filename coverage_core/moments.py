"""Named moments: what the record list's start/stop texts mean as events.

The record list (音像记录事项清单) words the start and stop of recording in free Chinese
text: "进入调查取证场所", "离开送达地点", "听证开始" … Known phrasings map to standard
moments that devices and tablets report (``site_enter``, ``hearing_start`` …). Any
other text becomes its own moment ``custom:<sha1[:10]>`` derived from the normalised
text, so the same wording in two rows or two list versions is the same moment, and
nothing a bureau writes is rejected.

Pure stdlib, no Django.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

FULL_PROCESS_MARK = "全过程音像记录"
EVIDENCE_COLLECTION_STAGE = "调查取证"
EVIDENCE_COLLECTION_MIN_OFFICERS = 2
DEFAULT_MIN_OFFICERS = 1
CUSTOM_PREFIX = "custom:"

SITE_ENTER = "site_enter"
SITE_LEAVE = "site_leave"
HEARING_START = "hearing_start"
HEARING_END = "hearing_end"
TALK_START = "talk_start"
TALK_END = "talk_end"
SUBJECT_ARRIVE = "subject_arrive"
CHECKIN_DONE = "checkin_done"
PRESERVATION_START = "preservation_start"
PRESERVATION_SEALED = "preservation_sealed"

STANDARD_MOMENTS: Mapping[str, tuple[str, str]] = {
    SITE_ENTER: ("进入现场", "entering the site"),
    SITE_LEAVE: ("离开现场", "leaving the site"),
    HEARING_START: ("听证开始", "hearing starts"),
    HEARING_END: ("听证结束", "hearing ends"),
    TALK_START: ("谈话开始", "talk starts"),
    TALK_END: ("谈话结束", "talk ends"),
    SUBJECT_ARRIVE: ("矫正对象到所", "subject arrives at the justice office"),
    CHECKIN_DONE: ("报到手续办结", "check-in completed"),
    PRESERVATION_START: ("开始登记保全", "registration for preservation starts"),
    PRESERVATION_SEALED: ("保全物品封存完毕", "preserved items sealed"),
}

# Exact phrasings (after normalisation) seen in record lists.
_EXACT: Mapping[str, str] = {
    "进入调查取证场所": SITE_ENTER,
    "进入检查场所": SITE_ENTER,
    "进入走访场所": SITE_ENTER,
    "进入执法场所": SITE_ENTER,
    "进入现场": SITE_ENTER,
    "到达现场": SITE_ENTER,
    "到达送达地点": SITE_ENTER,
    "离开调查取证场所": SITE_LEAVE,
    "离开检查场所": SITE_LEAVE,
    "离开走访场所": SITE_LEAVE,
    "离开执法场所": SITE_LEAVE,
    "离开现场": SITE_LEAVE,
    "离开送达地点": SITE_LEAVE,
    "听证开始": HEARING_START,
    "开始听证": HEARING_START,
    "听证会开始": HEARING_START,
    "听证结束": HEARING_END,
    "听证会结束": HEARING_END,
    "谈话开始": TALK_START,
    "开始谈话": TALK_START,
    "谈话结束": TALK_END,
    "结束谈话": TALK_END,
    "矫正对象到所": SUBJECT_ARRIVE,
    "社区矫正对象到所": SUBJECT_ARRIVE,
    "报到手续办结": CHECKIN_DONE,
    "报到手续办理完毕": CHECKIN_DONE,
    "开始登记保全": PRESERVATION_START,
    "保全物品封存完毕": PRESERVATION_SEALED,
}

# Other wordings of arriving at / leaving a place: "进入被检查单位", "到达受送达人住所"…
_PLACE = r"(场所|地点|现场|住所|居所|所在地|单位|处所)"
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^(进入|到达|抵达)\S*" + _PLACE + r"$"), SITE_ENTER),
    (re.compile(r"^(离开|撤离)\S*" + _PLACE + r"$"), SITE_LEAVE),
)

_DROP = re.compile(r"[\s。．.，,、；;：:!！?？\"'“”‘’（）()《》【】\[\]]+")
_LEADING_WORDS = re.compile(r"^(从|自|在|于)")
_TRAILING_WORDS = re.compile(r"(时|之时|时起|开始时|起|后|为止|止)$")


@dataclass(frozen=True, slots=True)
class Moment:
    """A named moment: ``code`` is stable, ``label`` is the text as the list wrote it."""

    code: str
    label: str

    @property
    def standard(self) -> bool:
        return not self.code.startswith(CUSTOM_PREFIX)

    @property
    def label_zh(self) -> str:
        return self.label or STANDARD_MOMENTS.get(self.code, ("", ""))[0]

    @property
    def label_en(self) -> str:
        known = STANDARD_MOMENTS.get(self.code)
        return known[1] if known else self.label


@dataclass(frozen=True, slots=True)
class RuleInterpretation:
    start: Moment
    stop: Moment
    full_process: bool
    min_officers: int


def normalize_phrase(text: str) -> str:
    """NFKC, no spaces or punctuation, without framing words like 从…时/起."""
    normalized = _DROP.sub("", unicodedata.normalize("NFKC", text))
    stripped = _TRAILING_WORDS.sub("", _LEADING_WORDS.sub("", normalized))
    return stripped or normalized


def moment_for_phrase(text: str) -> Moment:
    """Map a start/stop text to its moment; unknown texts get a stable custom code.

    Raises ValueError only for a text that is empty after normalisation.
    """
    label = text.strip()
    key = normalize_phrase(text)
    if not key:
        raise ValueError("empty moment text")
    code = _EXACT.get(key)
    if code is None:
        for pattern, candidate in _PATTERNS:
            if pattern.match(key):
                code = candidate
                break
    if code is None:
        code = (
            CUSTOM_PREFIX
            + hashlib.sha1(key.encode("utf-8"), usedforsecurity=False).hexdigest()[:10]
        )
    return Moment(code=code, label=label)


def is_full_process(remarks: str) -> bool:
    """备注 says 全过程音像记录 (spaces and full-width forms ignored)."""
    return FULL_PROCESS_MARK in _DROP.sub("", unicodedata.normalize("NFKC", remarks or ""))


def default_min_officers(stage: str) -> int:
    """Evidence collection (调查取证) needs two or more officers; other stages one."""
    compact = _DROP.sub("", unicodedata.normalize("NFKC", stage or ""))
    return EVIDENCE_COLLECTION_MIN_OFFICERS if EVIDENCE_COLLECTION_STAGE in compact else 1


def interpret_rule(
    *, stage: str, start_text: str, stop_text: str, remarks: str = ""
) -> RuleInterpretation:
    """What one record-list row means for the coverage check."""
    return RuleInterpretation(
        start=moment_for_phrase(start_text),
        stop=moment_for_phrase(stop_text),
        full_process=is_full_process(remarks),
        min_officers=default_min_officers(stage),
    )

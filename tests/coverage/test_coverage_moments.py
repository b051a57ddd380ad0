"""Start/stop texts of the record list -> named moments; full-process and officer defaults."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coverage_core.moments import (
    CHECKIN_DONE,
    HEARING_END,
    HEARING_START,
    PRESERVATION_SEALED,
    PRESERVATION_START,
    SITE_ENTER,
    SITE_LEAVE,
    SUBJECT_ARRIVE,
    TALK_END,
    TALK_START,
    default_min_officers,
    interpret_rule,
    is_full_process,
    moment_for_phrase,
)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("进入调查取证场所", SITE_ENTER),
        ("进入检查场所", SITE_ENTER),
        ("进入走访场所", SITE_ENTER),
        ("到达送达地点", SITE_ENTER),
        ("离开调查取证场所", SITE_LEAVE),
        ("离开检查场所", SITE_LEAVE),
        ("离开走访场所", SITE_LEAVE),
        ("离开送达地点", SITE_LEAVE),
        ("听证开始", HEARING_START),
        ("听证结束", HEARING_END),
        ("谈话开始", TALK_START),
        ("谈话结束", TALK_END),
        ("矫正对象到所", SUBJECT_ARRIVE),
        ("报到手续办结", CHECKIN_DONE),
        ("开始登记保全", PRESERVATION_START),
        ("保全物品封存完毕", PRESERVATION_SEALED),
        # Variants a bureau may write.
        (" 进入 检查场所时 ", SITE_ENTER),
        ("从进入现场时起", SITE_ENTER),
        ("到达受送达人住所", SITE_ENTER),
        ("离开被检查单位", SITE_LEAVE),
        ("听证结束。", HEARING_END),
    ],
)
def test_known_phrases_map_to_standard_moments(text: str, code: str) -> None:
    moment = moment_for_phrase(text)
    assert moment.code == code
    assert moment.standard
    assert moment.label == text.strip()


def test_unknown_phrase_becomes_a_stable_custom_moment() -> None:
    moment = moment_for_phrase("宣读权利义务告知书")
    assert moment.code.startswith("custom:")
    assert len(moment.code) == len("custom:") + 10
    assert not moment.standard
    assert moment.label_zh == "宣读权利义务告知书"
    assert moment.label_en == "宣读权利义务告知书"
    # Same wording (up to spaces/punctuation) -> same moment; different wording -> other.
    assert moment_for_phrase("宣读 权利义务告知书。").code == moment.code
    assert moment_for_phrase("宣读处罚决定书").code != moment.code


def test_empty_phrase_is_refused() -> None:
    with pytest.raises(ValueError):
        moment_for_phrase(" 。 ")


@given(st.text(min_size=1, max_size=30))
def test_any_text_gets_a_moment_or_a_clear_refusal(text: str) -> None:
    try:
        moment = moment_for_phrase(text)
    except ValueError:
        return
    assert moment.code
    assert moment_for_phrase(text) == moment


def test_full_process_mark_and_officer_defaults() -> None:
    assert is_full_process("全过程音像记录")
    assert is_full_process("需 全过程 音像记录。")
    assert not is_full_process("")
    assert not is_full_process("音像记录")
    assert default_min_officers("调查取证") == 2
    assert default_min_officers("现场检查") == 1
    rule = interpret_rule(
        stage="听证", start_text="听证开始", stop_text="听证结束", remarks="全过程音像记录"
    )
    assert (rule.start.code, rule.stop.code, rule.full_process, rule.min_officers) == (
        HEARING_START,
        HEARING_END,
        True,
        1,
    )

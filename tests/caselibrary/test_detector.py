"""The independent detector on labelled examples: the forms the masker does not replace
(dashed and +86 phones, grouped identity numbers, dashed birth dates, a name after a label)
are found; an identifier-free text of a case (dates, document numbers, amounts, credit
codes) gives no finding. The full labelled set: tests/bench/bench_library_detector.py."""

from __future__ import annotations

import pytest

from backend.caselibrary.detection import find_identifiers
from backend.publication.services.masking import identifiers_in

LABELLED = [
    ("身份证号450103199003071234。", "id_number", "450103199003071234"),
    ("身份证号45010319900307123x。", "id_number", "45010319900307123x"),
    ("身份证号 450103 19900307 1234，", "id_number", "450103 19900307 1234"),
    ("旧证号450103900307123，", "id_number", "450103900307123"),
    ("电话13877123456。", "phone", "13877123456"),
    ("电话138-7712-3456。", "phone", "138-7712-3456"),
    ("电话+86 138 7712 3456。", "phone", "+86 138 7712 3456"),
    ("座机0771-5512345。", "phone", "0771-5512345"),
    ("驾驶桂A12345离开", "plate", "桂A12345"),
    ("1990年3月7日出生，", "birth_date", "1990年3月7日出生"),
    ("1990-03-07出生，", "birth_date", "1990-03-07出生"),
    ("出生于1990年3月7日，", "birth_date", "出生于1990年3月7日"),
    ("姓名：李秀梅，系其母", "name", "李秀梅"),
]


@pytest.mark.parametrize(("text", "kind", "value"), LABELLED)
def test_each_labelled_identifier_is_found(text: str, kind: str, value: str) -> None:
    findings = find_identifiers(text)
    assert [(f.kind, f.text) for f in findings] == [(kind, value)]


def test_known_names_and_aliases() -> None:
    text = "韦某未经批准外出，韦建华的母亲姓名：黄某到场。"
    assert [f.text for f in find_identifiers(text, known_names=["韦建华"])] == ["韦建华"]
    assert find_identifiers("韦某未经批准外出，姓名：黄某到场。", known_names=["韦建华"]) == []


def test_no_finding_on_identifier_free_case_text() -> None:
    text = (
        "2026年3月7日，司法所依据《中华人民共和国社区矫正法》第二十八条给予警告，文号青矫警〔2026〕12号，"
        "罚款人民币5000元，统一社会信用代码91450100MA5K8XXXXX，案件编号2026-0001，共计18页。"
    )
    assert find_identifiers(text) == []


def test_the_detector_catches_what_the_masker_leaves() -> None:
    """Independence made visible: forms outside the masker's patterns."""
    text = "座机0771-5512345，姓名：李秀梅，系其母。"
    assert identifiers_in(text) == []
    assert {f.kind for f in find_identifiers(text)} == {"phone", "name"}


def test_the_masker_replaces_the_written_forms() -> None:
    text = "电话138-7712-3456、+86 139 7788 1234，身份证号 450103 19900307 1234，1990-03-07出生。"
    found = {(kind, original) for kind, original, _r in identifiers_in(text)}
    assert found == {
        ("phone", "138-7712-3456"),
        ("phone", "+86 139 7788 1234"),
        ("id_number", "450103 19900307 1234"),
        ("birth_date", "1990-03-07"),
    }

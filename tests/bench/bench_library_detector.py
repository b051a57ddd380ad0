"""The case library's identifier detector and de-identification, measured.

    .venv/bin/python tests/bench/bench_library_detector.py            # 2,000 records
    .venv/bin/python tests/bench/bench_library_detector.py --records 300

1. Recall of the independent detector (backend/caselibrary/detection.py) on a labelled,
   seeded synthetic set of correction and case records: identity numbers (18 digits with a
   valid check character, lower-case x, written in groups, the old 15 digits), mobile numbers
   (plain, dashed, +86 with spaces), plates, dates of birth (three spellings) and names (the
   parties, as the system passes them; and, for honesty, without that list: only a
   name after a label such as 姓名：). Beside it the same-run reference: the masker's own
   recall (backend/publication/services/masking.py), i.e. what the detector must catch
   behind it. False findings on identifier-free text per 1,000 records.
2. De-identifying a 20-page case text (20 × ~900 characters): the masker's scan plus the
   one-pass replacement (services/deidentify.py), beside the same-run reference of the
   publication masker's plain `scrub` over the same text (ratio).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.config.settings.test")

import django  # noqa: E402

django.setup()

from backend.caselibrary.detection import find_identifiers  # noqa: E402
from backend.caselibrary.models import Redaction  # noqa: E402
from backend.caselibrary.services.deidentify import masked  # noqa: E402
from backend.publication.services.masking import (  # noqa: E402
    alias_for,
    identifiers_in,
    scrub,
)

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦覃蒙黎"
COMPOUND = ["欧阳", "司马", "上官", "诸葛"]
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国立新海燕玉兰志红春梅晓东"
PLATE_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
CHECK = "10X98765432"


def name(rng: random.Random) -> str:
    surname = rng.choice(COMPOUND) if rng.random() < 0.05 else rng.choice(SURNAMES)
    return surname + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))


def birth(rng: random.Random) -> tuple[int, int, int]:
    return rng.randint(1950, 2008), rng.randint(1, 12), rng.randint(1, 28)


def id_number(rng: random.Random, born: tuple[int, int, int]) -> str:
    region = f"{rng.randint(110000, 659999)}"
    if rng.random() < 0.05:
        return f"{region}{born[0] % 100:02d}{born[1]:02d}{born[2]:02d}{rng.randint(0, 999):03d}"
    body = f"{region}{born[0]}{born[1]:02d}{born[2]:02d}{rng.randint(0, 999):03d}"
    check = CHECK[sum(int(d) * w for d, w in zip(body, WEIGHTS, strict=True)) % 11]
    if check == "X" and rng.random() < 0.3:
        check = "x"
    number = body + check
    if rng.random() < 0.1:
        number = f"{number[:6]} {number[6:14]} {number[14:]}"
    return number


def phone(rng: random.Random) -> str:
    digits = f"1{rng.choice('3456789')}{rng.randint(0, 999999999):09d}"
    roll = rng.random()
    if roll < 0.15:
        return f"{digits[:3]}-{digits[3:7]}-{digits[7:]}"
    if roll < 0.3:
        return f"+86 {digits[:3]} {digits[3:7]} {digits[7:]}"
    return digits


def plate(rng: random.Random) -> str:
    tail = "".join(rng.choice(LETTERS + "0123456789") for _ in range(5))
    return rng.choice(PLATE_PROVINCES) + rng.choice(LETTERS) + tail


def birth_text(rng: random.Random, born: tuple[int, int, int]) -> str:
    y, m, d = born
    return rng.choice(
        (f"{y}年{m}月{d}日出生", f"出生于{y}年{m}月{d}日", f"{y}-{m:02d}-{d:02d}出生")
    )


def record(rng: random.Random) -> tuple[str, list[tuple[str, str]], list[str]]:
    """(text, labels (kind, text), the party names known from the data)."""
    person, relative = name(rng), name(rng)
    born = birth(rng)
    ident, mobile, car, born_text = (
        id_number(rng, born),
        phone(rng),
        plate(rng),
        birth_text(rng, born),
    )
    text = (
        f"社区矫正对象{person}，{born_text}，身份证号{ident}，联系电话{mobile}。"
        f"{rng.randint(2019, 2026)}年{rng.randint(1, 12)}月{rng.randint(1, 28)}日，{person}驾驶{car}"
        f"未经批准离开居住地，经工作人员电话催告后返回，给予警告（青矫警〔2026〕{rng.randint(1, 99)}号）。"
        f"姓名：{relative}（系其亲属）到场。"
    )
    labels = [
        ("name", person),
        ("birth_date", born_text),
        ("id_number", ident),
        ("phone", mobile),
        ("plate", car),
        ("name", relative),
    ]
    return text, labels, [person]


CLEAN = (
    "2026年3月7日，司法所依据《中华人民共和国社区矫正法》第二十八条给予警告，文号青矫警〔2026〕12号，"
    "罚款人民币5000元，统一社会信用代码91450100MA5K8XXXXX，案件编号2026-0001，共计18页。"
)


def recall(records: list[tuple[str, list[tuple[str, str]], list[str]]]) -> None:
    found: dict[str, list[int]] = {}
    found_blind: dict[str, list[int]] = {}
    masker: dict[str, list[int]] = {}
    for text, labels, parties in records:
        with_names = find_identifiers(text, known_names=parties)
        blind = find_identifiers(text)
        masker_texts = {original for _k, original, _r in identifiers_in(text)} | set(parties)
        for kind, label in labels:
            start = text.find(label)
            span = range(start, start + len(label))

            def hit(findings: list, span: range = span) -> bool:  # type: ignore[type-arg]
                return any(
                    f.start in span or span.start in range(f.start, f.start + len(f.text))
                    for f in findings
                )

            found.setdefault(kind, [0, 0])[0] += hit(with_names)
            found[kind][1] += 1
            found_blind.setdefault(kind, [0, 0])[0] += hit(blind)
            found_blind[kind][1] += 1
            masker.setdefault(kind, [0, 0])[0] += any(
                label in original or original in label for original in masker_texts
            )
            masker[kind][1] += 1
    print(f"{'kind':<12}{'detector':>12}{'(no names)':>12}{'masker (ref)':>14}{'n':>7}")
    for kind in ("id_number", "phone", "plate", "birth_date", "name"):
        d, n = found[kind]
        b = found_blind[kind][0]
        m = masker[kind][0]
        print(f"{kind:<12}{d / n:>11.2%}{b / n:>11.2%}{m / n:>13.2%}{n:>8}")
    false = sum(len(find_identifiers(CLEAN)) for _ in range(1000))
    print(f"false findings on identifier-free text: {false} per 1,000 records")


def timing(rng: random.Random) -> None:
    parts: list[str] = []
    parties: list[str] = []
    while sum(len(p) for p in parts) < 20 * 900:
        text, _labels, names = record(rng)
        parts.append(text + "\n" + CLEAN + "\n")
        parties.extend(names)
    text = "".join(parts)
    runs, ref_runs, detect_runs = [], [], []
    for _ in range(5):
        started = time.perf_counter()
        taken: set[str] = set()
        changes = []
        for person in dict.fromkeys(parties):
            alias = alias_for(person, taken)
            taken.add(alias)
            changes.append(Redaction(kind="name", original=person, replacement=alias))
        seen = {c.original for c in changes}
        for kind, original, replacement in identifiers_in(text):
            if original not in seen:
                seen.add(original)
                changes.append(Redaction(kind=kind, original=original, replacement=replacement))
        result = masked(text, changes)
        runs.append(time.perf_counter() - started)
        started = time.perf_counter()
        scrub(text, party_name=parties[0], public_party="某", withheld=())
        ref_runs.append(time.perf_counter() - started)
        started = time.perf_counter()
        find_identifiers(result, known_names=parties)
        detect_runs.append(time.perf_counter() - started)
    ours, ref = statistics.median(runs), statistics.median(ref_runs)
    print(
        f"20-page text ({len(text):,} characters, {len(dict.fromkeys(parties))} persons, "
        f"{len(changes)} changes): de-identify {ours * 1000:.1f} ms; reference scrub "
        f"{ref * 1000:.1f} ms (ratio {ours / ref:.1f}×); detector on the result "
        f"{statistics.median(detect_runs) * 1000:.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=25)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    records = [record(rng) for _ in range(args.records)]
    recall(records)
    timing(rng)


if __name__ == "__main__":
    main()

"""The font the server draws Chinese with travels with the project (media/fonts.py).

These tests never look at the host's fonts: they prove that the shipped font has a glyph for
every character the product draws, and that ffmpeg's drawtext (the watermark) renders real,
distinct characters with it, not the boxes a font without CJK glyphs gives.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from fontTools import subset
from fontTools.ttLib import TTFont

from media.fonts import SHIPPED_FONT, FontMissingError, cjk_font_path
from media.tools import ffmpeg_binary

# What the server draws: the watermark of a copy, headings of reports and documents to come,
# and names with characters outside the common 3,500 (喆, 堃, 犇, 淼 are frequent in names).
WATERMARK = "调阅：张三 2026-12-05 仅供办案使用"
HEADINGS = (
    "平顺县司法局音像记录事项清单",
    "行政执法统计年报（2026年度）",
    "法制审核意见书 平司罚〔2026〕12号",
    "社区矫正对象 李喆 王堃 赵犇 陈淼",
    "执法全过程记录 · 调阅登记簿",
)


def test_the_shipped_font_is_used_unless_one_is_configured(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("FV_CJK_FONT", raising=False)
    assert cjk_font_path() == SHIPPED_FONT
    assert SHIPPED_FONT.is_relative_to(Path(__file__).resolve().parents[2] / "media")
    assert (SHIPPED_FONT.parent / "OFL.txt").is_file()  # the licence travels with it

    other = tmp_path / "bureau.otf"
    other.write_bytes(SHIPPED_FONT.read_bytes())
    monkeypatch.setenv("FV_CJK_FONT", str(other))
    assert cjk_font_path() == other

    monkeypatch.setenv("FV_CJK_FONT", str(tmp_path / "typo.otf"))
    with pytest.raises(FontMissingError, match=r"typo\.otf"):
        cjk_font_path()


def test_every_character_drawn_has_a_glyph_in_the_font() -> None:
    cmap = TTFont(SHIPPED_FONT, lazy=True).getBestCmap()
    for text in (WATERMARK, *HEADINGS):
        missing = sorted({ch for ch in text if ord(ch) not in cmap})
        assert not missing, f"{text!r}: no glyph for {missing}"
    # The whole common-use range, not only the samples: every character GB2312 encodes.
    gb2312 = set()
    for high in range(0xB0, 0xF8):
        for low in range(0xA1, 0xFF):
            try:
                gb2312.add(bytes((high, low)).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    assert len(gb2312) > 6700
    assert not [ch for ch in gb2312 if ord(ch) not in cmap]


def _render(text: str, font: Path, tmp_path: Path, size: str = "640x80") -> bytes:
    """One grey frame of `text` drawn by ffmpeg's drawtext with `font`, as raw pixels."""
    text_file = tmp_path / "text.txt"
    text_file.write_text(text, encoding="utf-8")
    drawtext = (
        f"drawtext=fontfile={font}:textfile={text_file}:expansion=none:"
        "fontsize=40:fontcolor=white:x=4:y=20"
    )
    result = subprocess.run(
        [
            ffmpeg_binary(),
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            f"color=black:s={size}:d=0.04",
            "-vf",
            drawtext,
            "-frames:v",
            "1",
            "-pix_fmt",
            "gray",
            "-f",
            "rawvideo",
            "-",
        ],
        capture_output=True,
        check=True,
        timeout=60,
    )
    return result.stdout


def test_the_watermark_renders_characters_not_boxes(tmp_path: Path) -> None:
    font = cjk_font_path()
    # Distinct characters give distinct pictures; with a font that lacks them, every one
    # is the same .notdef box.
    glyphs = {ch: _render(ch, font, tmp_path, size="64x64") for ch in "调阅张三仅供办案"}
    assert all(any(pixels) for pixels in glyphs.values())
    assert len(set(glyphs.values())) == len(glyphs)

    # The same watermark drawn with a font holding only ASCII (what DejaVu Sans gives on a
    # host without CJK fonts) differs from the shipped font's rendering.
    ascii_only = tmp_path / "ascii-only.otf"
    options = subset.Options()
    options.layout_features = []
    subsetter = subset.Subsetter(options)
    latin = TTFont(SHIPPED_FONT)
    subsetter.populate(text="".join(chr(c) for c in range(0x20, 0x7F)))
    subsetter.subset(latin)
    latin.save(ascii_only)
    boxes = _render(WATERMARK, ascii_only, tmp_path)
    real = _render(WATERMARK, font, tmp_path)
    assert boxes != real
    box_glyphs = {ch: _render(ch, ascii_only, tmp_path, size="64x64") for ch in "调阅"}
    assert len(set(box_glyphs.values())) == 1  # the reference really draws boxes

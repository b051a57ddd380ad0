"""Printable documents of a case as PDF, drawn with the shipped CJK font (media/fonts.py):
the opinion letter (法制审核意见书) and the archived case file (卷宗). Pages are A4 images
at 150 dpi, text wrapped by character (Chinese has no spaces to break at)."""

from __future__ import annotations

import io
from collections.abc import Sequence

from django.utils import timezone
from django.utils.translation import gettext as _
from PIL import Image, ImageDraw, ImageFont

from backend.cases.models import Case, LegalReview, OpinionKind
from media.fonts import cjk_font_path

PAGE = (1240, 1754)  # A4 at 150 dpi
MARGIN = 110
LINE = 40


def _wrap(
    draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont, width: int
) -> list[str]:
    lines: list[str] = []
    for paragraph in text.split("\n"):
        current = ""
        for char in paragraph:
            if draw.textlength(current + char, font=font) > width:
                lines.append(current)
                current = char
            else:
                current += char
        lines.append(current)
    return lines


def render_pdf(title: str, paragraphs: Sequence[str]) -> bytes:
    font_path = str(cjk_font_path())
    heading = ImageFont.truetype(font_path, 44)
    body = ImageFont.truetype(font_path, 26)
    pages: list[Image.Image] = []

    def new_page() -> tuple[Image.Image, ImageDraw.ImageDraw]:
        image = Image.new("RGB", PAGE, "white")
        pages.append(image)
        return image, ImageDraw.Draw(image)

    _image, draw = new_page()
    width = draw.textlength(title, font=heading)
    draw.text(((PAGE[0] - width) / 2, MARGIN), title, font=heading, fill="black")
    y = MARGIN + 100
    for paragraph in paragraphs:
        for line in _wrap(draw, paragraph, body, PAGE[0] - 2 * MARGIN):
            if y > PAGE[1] - MARGIN:
                _image, draw = new_page()
                y = MARGIN
            draw.text((MARGIN, y), line, font=body, fill="black")
            y += LINE
        y += LINE // 3
    out = io.BytesIO()
    pages[0].save(out, format="PDF", save_all=True, append_images=pages[1:], resolution=150)
    return out.getvalue()


def opinion_letter_pdf(review: LegalReview, case: Case) -> bytes:
    from backend.cases.services.review import REVIEW_POINTS

    paragraphs = [
        _("案号：%(number)s") % {"number": case.number},
        _("当事人：%(party)s　案由：%(matter)s")
        % {"party": case.party_name, "matter": case.matter},
        _("收到材料日期：%(day)s　审核期限：%(due)s")
        % {"day": review.received_on.isoformat(), "due": review.due_on or "—"},
        _("审核要点："),
        *[f"{label}：{review.points.get(key, '')}" for key, label in REVIEW_POINTS.items()],
        _("审核意见：%(opinion)s") % {"opinion": OpinionKind(review.opinion).label},
        _("理由：%(reasons)s") % {"reasons": review.opinion_reasons},
        _("审核人员：%(name)s　日期：%(day)s")
        % {
            "name": review.reviewer.get_full_name() or review.reviewer.username
            if review.reviewer
            else "—",
            "day": timezone.localdate().isoformat(),
        },
    ]
    return render_pdf(str(_("重大行政执法决定法制审核意见书")), paragraphs)


def case_file_pdf(case: Case) -> bytes:
    """The 卷宗: cover (卷宗号, party, matter, officers), stages, documents with their
    SHA-256, activities, recordings, reviews and the decision."""
    paragraphs = [
        _("卷宗号：%(number)s") % {"number": case.archive_number or "—"},
        _("案号：%(number)s") % {"number": case.number},
        _("当事人：%(party)s") % {"party": case.party_name},
        _("案由：%(matter)s") % {"matter": case.matter},
        _("承办人员：%(names)s") % {"names": "、".join(o.name for o in case.officers.all())},
        _("办理阶段："),
        *[
            f"{entry.get_stage_display()}　{entry.entered_on.isoformat()}"
            for entry in case.stage_entries.all()
        ],
        _("执法文书："),
        *[
            f"{doc.get_kind_display()}　{doc.title}　SHA-256 {doc.sha256}"
            for doc in case.documents.all()
        ],
        _("执法活动："),
        *[
            f"{link.activity.category}/{link.activity.stage}　"
            f"{timezone.localtime(link.activity.started_at):%Y-%m-%d %H:%M}"
            for link in case.activity_links.select_related("activity")
        ],
        _("关联音像记录："),
        *[
            f"{link.recording.file_name}　SHA-256 {link.recording.sha256}　{link.reason}"
            for link in case.recording_links.select_related("recording")
        ],
        _("法制审核："),
        *[
            review.received_on.isoformat()
            + "　"
            + (review.get_opinion_display() or review.get_state_display())
            for review in case.reviews.order_by("pk")
        ],
    ]
    decision = getattr(case, "decision", None)
    if decision is not None:
        paragraphs += [
            _("决定：%(kind)s　%(number)s　%(day)s")
            % {
                "kind": decision.get_kind_display(),
                "number": decision.document_number,
                "day": decision.decided_on.isoformat(),
            },
            decision.summary,
        ]
    return render_pdf(str(_("行政执法案卷")), paragraphs)

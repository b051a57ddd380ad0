"""Server-drawn SVG charts (no script, no library): a horizontal bar chart with a labelled
value axis, its unit, ticks and a title and description for screen readers. Pure Python;
the page shows the same numbers in a table beside it (the text alternative)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    mark: float | None = None  # a second value drawn as a tick on the bar (e.g. p90)


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 × 10^k not below `value` (an axis end people read)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= value:
            return float(step * power)
    return float(10 * power)


def bar_chart_svg(
    *,
    chart_id: str,
    title: str,
    description: str,
    bars: Sequence[Bar],
    axis_label: str,
    ticks: int = 4,
    width: int = 640,
    bar_height: int = 22,
) -> str:
    label_width, right, top, axis_room = 150, 20, 10, 44
    plot = width - label_width - right
    height = top + len(bars) * (bar_height + 8) + axis_room
    end = nice_ceiling(max([b.value for b in bars] + [b.mark or 0 for b in bars] + [0.0]))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'role="img" aria-labelledby="{chart_id}-title {chart_id}-desc" class="chart" '
        f'id="{chart_id}" width="100%" preserveAspectRatio="xMinYMin meet">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>',
    ]
    base_y = top + len(bars) * (bar_height + 8)
    for index in range(ticks + 1):
        value = end * index / ticks
        x = label_width + plot * index / ticks
        parts.append(
            f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{base_y}" stroke="#dadce0"/>'
            f'<text x="{x:.1f}" y="{base_y + 16}" text-anchor="middle" font-size="12" '
            f'fill="#202124">{value:g}</text>'
        )
    parts.append(
        f'<line x1="{label_width}" y1="{base_y}" x2="{label_width + plot}" y2="{base_y}" '
        'stroke="#202124"/>'
        f'<line x1="{label_width}" y1="{top}" x2="{label_width}" y2="{base_y}" stroke="#202124"/>'
        f'<text x="{label_width + plot / 2:.1f}" y="{base_y + 36}" text-anchor="middle" '
        f'font-size="12" fill="#202124">{escape(axis_label)}</text>'
    )
    for index, bar in enumerate(bars):
        y = top + index * (bar_height + 8) + 4
        length = plot * bar.value / end
        parts.append(
            f'<text x="{label_width - 6}" y="{y + bar_height * 0.7:.1f}" text-anchor="end" '
            f'font-size="12" fill="#202124">{escape(bar.label[:14])}</text>'
            f'<rect x="{label_width}" y="{y}" width="{length:.1f}" height="{bar_height}" '
            'fill="#1a73e8"/>'
            f'<text x="{label_width + length + 4:.1f}" y="{y + bar_height * 0.7:.1f}" '
            f'font-size="12" fill="#202124">{bar.value:g}</text>'
        )
        if bar.mark is not None:
            x = label_width + plot * bar.mark / end
            parts.append(
                f'<line x1="{x:.1f}" y1="{y - 2}" x2="{x:.1f}" y2="{y + bar_height + 2}" '
                'stroke="#c5221f" stroke-width="3"/>'
            )
    parts.append("</svg>")
    return "".join(parts)

"""Bar charts drawn on the server as SVG (no script, no inline style: the page's
Content-Security-Policy forbids both). Every chart has a y axis with ticks in a named unit,
an x axis with one label per group, axis titles, a legend, and the same figures as a table
(the text alternative; `web/bar_chart.html` renders both).

A chart is a list of groups (a month, a unit) each holding one value per series (compliance
and activation, actual and projected); None is "no figure" and draws no bar.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Series:
    name: str
    css: str  # a class in review.css: s1, s2, proj, ok, low


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    w: float
    h: float
    css: str
    title: str


@dataclass(frozen=True)
class Tick:
    y: float
    label: str


@dataclass(frozen=True)
class GroupLabel:
    x: float
    label: str


@dataclass
class BarChart:
    title: str
    x_title: str
    y_title: str
    series: list[Series]
    groups: list[str]
    values: list[list[float | None]]  # per group, per series
    shown: list[list[str]]  # the same, as the table shows them
    width: int = 0
    height: int = 0
    left: int = 0
    right: int = 0
    top: int = 0
    bottom: int = 0
    ticks: list[Tick] = field(default_factory=list)
    bars: list[Bar] = field(default_factory=list)
    labels: list[GroupLabel] = field(default_factory=list)
    chart_id: str = "chart"

    @property
    def rows(self) -> list[tuple[str, list[str]]]:
        return list(zip(self.groups, self.shown, strict=True))


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 × 10^n at or above the value (1 for nothing)."""
    if value <= 0:
        return 1.0
    exponent = math.floor(math.log10(value))
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        candidate = step * 10**exponent
        if candidate >= value * (1 - 1e-9):
            return candidate
    return 10.0 ** (exponent + 1)


def bar_chart(
    *,
    title: str,
    x_title: str,
    y_title: str,
    series: Sequence[Series],
    groups: Sequence[str],
    values: Sequence[Sequence[float | None]],
    fmt: Callable[[float], str],
    y_max: float | None = None,
    tick_count: int = 4,
    chart_id: str = "chart",
    width: int | None = None,
) -> BarChart:
    """Lay out a grouped bar chart; `fmt` writes a value in the axis unit."""
    groups = list(groups)
    slots = max(len(groups), 1)
    left, right_pad, top, bottom_pad = 64, 10, 14, 46
    slot = max(24.0, min(90.0, 600.0 / slots))
    plot_w = slot * slots
    chart_w = width or int(left + plot_w + right_pad)
    height = 240
    bottom = height - bottom_pad
    highest = max((v for row in values for v in row if v is not None), default=0.0)
    top_value = y_max if y_max is not None else nice_ceiling(highest)

    def y_of(value: float) -> float:
        return round(bottom - (bottom - top) * min(value, top_value) / top_value, 1)

    chart = BarChart(
        title=title,
        x_title=x_title,
        y_title=y_title,
        series=list(series),
        groups=groups,
        values=[list(row) for row in values],
        shown=[["—" if v is None else fmt(v) for v in row] for row in values],
        width=chart_w,
        height=height,
        left=left,
        right=int(left + plot_w),
        top=top,
        bottom=int(bottom),
        chart_id=chart_id,
    )
    chart.ticks = [
        Tick(y=y_of(top_value * i / tick_count), label=fmt(top_value * i / tick_count))
        for i in range(tick_count + 1)
    ]
    per = len(chart.series) or 1
    bar_w = slot * 0.7 / per
    # At most ~12 group labels fit; others are thinned (the table holds them all).
    every = max(1, math.ceil(slots / 12))
    for g, (group, row) in enumerate(zip(groups, values, strict=True)):
        x0 = left + g * slot + slot * 0.15
        for s, value in enumerate(row):
            if value is None:
                continue
            y = y_of(value)
            chart.bars.append(
                Bar(
                    x=round(x0 + s * bar_w, 1),
                    y=y,
                    w=round(bar_w, 1),
                    h=round(bottom - y, 1),
                    css=chart.series[s].css,
                    title=f"{group} · {chart.series[s].name}: {fmt(value)}",
                )
            )
        if g % every == 0:
            chart.labels.append(GroupLabel(x=round(left + g * slot + slot / 2, 1), label=group))
    return chart


def percent(value: float) -> str:
    return f"{value * 100:.0f} %" if value in (0, 1) else f"{value * 100:.1f} %"


BYTE_UNITS = (("TB", 1024**4), ("GB", 1024**3), ("MB", 1024**2), ("KB", 1024), ("B", 1))


def byte_unit(largest: float) -> tuple[str, int]:
    """The unit the axis of a byte chart is labelled in (the largest that keeps ≥ 1)."""
    for name, size in BYTE_UNITS:
        if largest >= size:
            return name, size
    return "B", 1

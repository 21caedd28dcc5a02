"""Inline SVG bar charts for the outcome report: plain geometry, drawn by a template.

No JavaScript and no image files, so the charts print in the PDF and read the same on screen.
Every chart also has a text alternative (its figures as a list), because a bar is not a number.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

LABEL_WIDTH = 190
BAR_WIDTH = 360
ROW_HEIGHT = 22
SERIES_GAP = 2


@dataclass(frozen=True)
class Bar:
    y: int
    width: float
    series: int
    text: str


@dataclass(frozen=True)
class Row:
    label: str
    y: int
    bars: tuple[Bar, ...]


@dataclass(frozen=True)
class BarChart:
    """A horizontal bar chart: one row per label, one bar per series in each row."""

    id: str
    title: str
    series: tuple[str, ...]
    rows: tuple[Row, ...]
    height: int
    label_width: int = LABEL_WIDTH
    bar_width: int = BAR_WIDTH
    text_x: int = field(default=LABEL_WIDTH + BAR_WIDTH + 6)

    @property
    def width(self) -> int:
        return self.label_width + self.bar_width + 110


def bar_chart(
    chart_id: str,
    title: str,
    rows: Sequence[tuple[str, Sequence[tuple[float, str]]]],
    series: Sequence[str] = ("",),
) -> BarChart:
    """``rows``: (label, [(value, text) per series]); bars scale to the largest value."""
    top = max((v for _, values in rows for v, _ in values), default=0) or 1
    bar_h = (ROW_HEIGHT - SERIES_GAP) // max(len(series), 1)
    out = []
    y = 4
    for label, values in rows:
        bars = tuple(
            Bar(
                y=y + i * bar_h,
                width=round(max(v, 0) / top * BAR_WIDTH, 1),
                series=i,
                text=text,
            )
            for i, (v, text) in enumerate(values)
        )
        out.append(Row(label=label[:34] + ("…" if len(label) > 34 else ""), y=y, bars=bars))
        y += ROW_HEIGHT + 6
    return BarChart(id=chart_id, title=title, series=tuple(series), rows=tuple(out), height=y + 4)

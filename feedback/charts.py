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
    # Where the bar starts when the chart is mirrored for a right-to-left page.
    x_rtl: float = 0.0


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

    # Right-to-left pages (Urdu) draw the chart mirrored: labels on the right, bars growing
    # to the left. These are the mirrored x positions.
    @property
    def label_x_rtl(self) -> int:
        return self.width - self.label_width + 6

    @property
    def text_x_rtl(self) -> int:
        return self.width - self.text_x

    def bar_x_rtl(self, bar: Bar) -> float:
        return round(self.width - self.label_width - bar.width, 1)


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
    chart = BarChart(id=chart_id, title=title, series=tuple(series), rows=tuple(out), height=y + 4)
    mirrored = tuple(
        Row(
            label=row.label,
            y=row.y,
            bars=tuple(
                Bar(y=b.y, width=b.width, series=b.series, text=b.text, x_rtl=chart.bar_x_rtl(b))
                for b in row.bars
            ),
        )
        for row in chart.rows
    )
    return BarChart(
        id=chart.id, title=chart.title, series=chart.series, rows=mirrored, height=chart.height
    )

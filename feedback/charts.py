"""Inline SVG bar charts for the outcome report: plain geometry, drawn by a template.

No JavaScript and no image files, so the charts print in the PDF and read the same on screen.
Every chart also has a text alternative (its figures as a list), because a bar is not a number.

Layout, chosen so nothing overlaps or clips at any width: each row's label sits on its own line
above its bars (a long project name is never cut at the left edge), and each series has a bar
line of its own with its figure just after it (two areas' "100.0%" never share a line). The
colours are written on the shapes as SVG attributes, not only in the stylesheet: WeasyPrint
ignores ``fill`` in CSS and would draw every bar black in the PDF.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

# Wide enough for the bars to compare well, narrow enough to fit an A4 column and, scaled by
# the viewBox, a 390-pixel phone.
BAR_WIDTH = 290
VALUE_ROOM = 80
LABEL_HEIGHT = 17
BAR_HEIGHT = 14
BAR_GAP = 3
ROW_GAP = 10
LABEL_CHARS = 60

# Dark blue and dark orange: both readable against white, told apart by people with the common
# colour-vision differences, and each key also names its series in words.
SERIES_COLOURS = ("#1d5f8a", "#b35400")
TEXT_COLOUR = "#1b1b1b"


@dataclass(frozen=True)
class Bar:
    y: int
    width: float
    series: int
    text: str
    colour: str
    series_name: str = ""
    # Where the bar starts when the chart is mirrored for a right-to-left page.
    x_rtl: float = 0.0

    @property
    def text_y(self) -> int:
        return self.y + BAR_HEIGHT - 3


@dataclass(frozen=True)
class Row:
    label: str
    label_y: int
    bars: tuple[Bar, ...]


@dataclass(frozen=True)
class Series:
    name: str
    colour: str


@dataclass(frozen=True)
class BarChart:
    """A horizontal bar chart: one row per label, one bar line per series in each row."""

    id: str
    title: str
    series: tuple[Series, ...]
    rows: tuple[Row, ...]
    height: int
    bar_width: int = BAR_WIDTH
    width: int = BAR_WIDTH + VALUE_ROOM
    text_colour: str = TEXT_COLOUR

    # Left to right, bars start at 0 and figures follow the longest possible bar. Mirrored for
    # right-to-left pages (Urdu): bars grow leftwards from the right edge.
    @property
    def text_x(self) -> int:
        return self.bar_width + 6

    @property
    def text_x_rtl(self) -> int:
        return self.width - self.bar_width - 6

    @property
    def several_series(self) -> bool:
        return len(self.series) > 1


def bar_chart(
    chart_id: str,
    title: str,
    rows: Sequence[tuple[str, Sequence[tuple[float, str]]]],
    series: Sequence[str] = ("",),
) -> BarChart:
    """``rows``: (label, [(value, text) per series]); bars scale to the largest value."""
    top = max((v for _, values in rows for v, _ in values), default=0) or 1
    width = BAR_WIDTH + VALUE_ROOM
    out = []
    y = 2
    for label, values in rows:
        label_y = y + LABEL_HEIGHT - 4
        y += LABEL_HEIGHT
        bars = []
        for i, (value, text) in enumerate(values):
            bar_width = round(max(value, 0) / top * BAR_WIDTH, 1)
            bars.append(
                Bar(
                    y=y,
                    width=bar_width,
                    series=i,
                    text=text,
                    colour=SERIES_COLOURS[i % len(SERIES_COLOURS)],
                    series_name=series[i] if len(series) > 1 and i < len(series) else "",
                    x_rtl=round(width - bar_width, 1),
                )
            )
            y += BAR_HEIGHT + BAR_GAP
        short = label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"
        out.append(Row(label=short, label_y=label_y, bars=tuple(bars)))
        y += ROW_GAP
    return BarChart(
        id=chart_id,
        title=title,
        series=tuple(
            Series(name=name, colour=SERIES_COLOURS[i % len(SERIES_COLOURS)])
            for i, name in enumerate(series)
        ),
        rows=tuple(out),
        height=max(y, 24),
    )

"""The report's charts print as they show: colours on the bars in the PDF, two series that never
share a line, labels whole, and a page that keeps to a phone's width.

WeasyPrint ignores ``fill`` given in a stylesheet, so bars styled only by CSS came out solid black
in the PDF; two areas' "100.0%" labels were drawn on top of each other; names longer than the
label column were cut at the left edge. These tests render the real report.
"""

from __future__ import annotations

import itertools
import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.urls import reverse
from PIL import Image

from feedback import tasks
from feedback.charts import BAR_HEIGHT, SERIES_COLOURS, bar_chart
from tests.conftest import need
from tests.feedback.conftest import counted  # noqa: F401  (a counted city round)

OUTPUT = Path(settings.BASE_DIR) / "test-output" / "report-pdf"


def _rgb(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


def test_each_series_has_its_own_line_and_the_figures_never_overlap() -> None:
    chart = bar_chart(
        "c",
        "Share",
        [("Westgate", [(1.0, "100.0%"), (1.0, "100.0%")]), ("Poulton", [(0.5, "50%"), (0, "0%")])],
        series=("Share of voters", "Share of population"),
    )
    lines = [bar.text_y for row in chart.rows for bar in row.bars]
    labels = [row.label_y for row in chart.rows]
    every_line = sorted(lines + labels)
    # 13-pixel text: any two lines of text closer than the bar height would overlap.
    assert all(b - a >= BAR_HEIGHT for a, b in itertools.pairwise(every_line))
    assert [bar.colour for bar in chart.rows[0].bars] == list(SERIES_COLOURS)
    assert [bar.series_name for bar in chart.rows[0].bars] == [
        "Share of voters",
        "Share of population",
    ]
    assert chart.height > max(bar.y for row in chart.rows for bar in row.bars) + BAR_HEIGHT - 1


def test_labels_are_kept_whole_unless_very_long() -> None:
    name = "Defibrillator at the community centre on Station Road"
    chart = bar_chart("c", "Votes", [(name, [(52, "52")]), ("x" * 80, [(1, "1")])])
    assert chart.rows[0].label == name
    assert chart.rows[1].label.endswith("…") and len(chart.rows[1].label) == 60


@pytest.mark.django_db
def test_the_html_chart_writes_its_colours_on_the_shapes(
    client: Any,
    counted: Any,  # noqa: F811
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        tasks.outcome_pipeline.delay(counted.round.pk)
    client.force_login(counted.manager)
    page = client.get(reverse("outcome_report", args=["city-2027"])).content.decode()
    for colour in SERIES_COLOURS:
        assert f'fill="{colour}"' in page
    # Both areas, each with its own line for voters and for population.
    assert page.count('class="bar bar-0"') >= 2 and page.count('class="bar bar-1"') >= 2
    assert "<title>North (Share of voters):" in page
    assert "<title>North (Share of population):" in page


@pytest.mark.django_db
def test_the_pdf_draws_the_bars_in_their_colours(
    client: Any,
    counted: Any,  # noqa: F811
    django_capture_on_commit_callbacks: Any,
) -> None:
    need(shutil.which("pdftoppm") is not None, "pdftoppm (apt-get install poppler-utils)")
    with django_capture_on_commit_callbacks(execute=True):
        tasks.outcome_pipeline.delay(counted.round.pk)
    client.force_login(counted.manager)
    response = client.get(reverse("outcome_report_file", args=["city-2027", "pdf"]))
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    OUTPUT.mkdir(parents=True, exist_ok=True)
    for old in OUTPUT.glob("page-*.png"):
        old.unlink()
    pdf = OUTPUT / "report.pdf"
    pdf.write_bytes(response.content)
    subprocess.run(
        ["pdftoppm", "-r", "60", "-png", str(pdf), str(OUTPUT / "page")],
        check=True,
        capture_output=True,
    )
    pages = sorted(OUTPUT.glob("page-*.png"))
    assert pages, "pdftoppm wrote no pages"
    colours: Counter[tuple[int, int, int]] = Counter()
    for png in pages:
        counts = Image.open(png).convert("RGB").getcolors(maxcolors=1 << 24) or []
        colours.update({colour: n for n, colour in counts})

    def near(target: tuple[int, int, int]) -> int:
        close = (c for c in colours if max(abs(a - b) for a, b in zip(c, target)) <= 12)  # noqa: B905
        return sum(colours[c] for c in close)

    blue, orange = (_rgb(c) for c in SERIES_COLOURS)
    # A bar is at least a few hundred pixels at 60 dpi; black bars would leave none of either.
    assert near(blue) > 300, "the voters' bars are not drawn in their colour"
    assert near(orange) > 300, "the population bars are not drawn in their colour"

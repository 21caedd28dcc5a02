"""``python -m pb.tally``: JSON and table output, and one-line errors for bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pb.tally.__main__ import main

DATA = Path("/work/shared/data/pabulib")
ASSEN = DATA / "Netherlands_Assen_2024.pb"

GOOD = """META
key;value
budget;100
vote_type;approval
PROJECTS
project_id;cost;name
1;60;Trees
2;50;Benches
10;40;"Lights; ""bright"" ones"
VOTES
voter_id;vote
1;1,2
2;1
3;2,10
"""


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pb.tally", *args], capture_output=True, text=True, check=False
    )


def test_json_output_has_naturally_sorted_winners_exact_cost_and_sentences(
    tmp_path: Path,
) -> None:
    path = tmp_path / "round.pb"
    path.write_text(GOOD, encoding="utf-8")
    done = _run(str(path), "--rule", "greedy", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    # 1 (2 votes) then 2 (2 votes, "1" < "2") does not fit after 1 (60 + 50 > 100); 10 fits
    assert result["winners"] == ["1", "10"]
    assert result["selection_order"] == ["1", "10"]
    assert result["total_cost"] == "100"
    assert result["rule"] == "greedy"
    assert set(result["explanations"]) == {"1", "2", "10"}
    assert result["projects"]["2"]["reason"] == "did_not_fit"
    assert result["explanations"]["1"].startswith("Funded (1st): 2 votes")


def test_table_output_lists_every_project(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(ASSEN), "--rule", "mes"]) == 0
    out = capsys.readouterr().out
    assert "rule mes" in out
    assert out.count("\n") > 14


def test_winners_in_json_sort_naturally(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(ASSEN), "--rule", "greedy", "--json"]) == 0
    winners = json.loads(capsys.readouterr().out)["winners"]
    assert winners == sorted(winners, key=int)


BAD_CASES = {
    "missing_file": (None, "no such file"),
    "malformed_line": (GOOD.replace("2;50;Benches", "2;50"), ":8: PROJECTS line has 2 fields"),
    "unknown_project": (GOOD.replace("3;2,10", "3;2,11"), ":14: vote for unknown project '11'"),
    "negative_cost": (GOOD.replace("2;50;", "2;-50;"), ":8: project 2 has a negative cost"),
    "not_a_number": (GOOD.replace("2;50;", "2;fifty;"), ":8: cost of project 2 is not a number"),
    "no_votes_section": (GOOD.split("VOTES")[0], "no VOTES section"),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_input_exits_non_zero_with_one_line_naming_file_line_and_problem(
    case: str, tmp_path: Path
) -> None:
    text, expected = BAD_CASES[case]
    path = tmp_path / "round.pb"
    if text is not None:
        path.write_text(text, encoding="utf-8")
    done = _run(str(path), "--rule", "greedy")
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1
    assert str(path) in done.stderr
    assert expected in done.stderr


def test_an_unknown_rule_is_refused_in_one_line() -> None:
    done = _run(str(ASSEN), "--rule", "borda")
    assert done.returncode != 0
    assert done.stderr.strip() == (
        "pb.tally: error: unknown rule 'borda' "
        "(expected one of greedy, greedy-no-skip, greedy-threshold, mes, mes-add1)"
    )


def test_min_share_is_read_as_a_fraction_or_a_percentage(tmp_path: Path) -> None:
    path = tmp_path / "round.pb"
    path.write_text(GOOD, encoding="utf-8")
    # 3 voters: "1" and "2" have 2 supporters (67%), "10" has 1 (33%)
    for share in ("0.5", "1/2", "50%"):
        done = _run(str(path), "--rule", "greedy-threshold", "--min-share", share, "--json")
        assert done.returncode == 0, done.stderr
        result = json.loads(done.stdout)
        assert result["winners"] == ["1"]
        assert result["projects"]["10"]["reason"] == "below_threshold"
    done = _run(str(path), "--rule", "greedy-threshold", "--min-share", "lots")
    assert done.returncode != 0 and "--min-share is not a number" in done.stderr

"""pabutools reads a field written ``None`` (in any case) as missing; so does ``pb.tally``."""

from __future__ import annotations

from pathlib import Path

from pabutools.election import parse_pabulib
from pabutools.election.satisfaction.additivesatisfaction import Cost_Sat
from pabutools.rules import greedy_utilitarian_welfare

from pb.tally import tally
from pb.tally.__main__ import main
from pb.tally.pabulib import loads

SCORING = """META
key;value
description;None fields
vote_type;scoring
budget;500
PROJECTS
project_id;cost;name;category
1;300;Benches;None
2;300;None;parks
3;100;Mural;none
VOTES
voter_id;vote;points
a;1,2;5,3
b;None;None
c;2,3;4,1
d;NONE;none
"""


def test_none_fields_are_missing_values_as_pabutools_reads_them(tmp_path: Path):
    path = tmp_path / "none.pb"
    path.write_text(SCORING, encoding="utf-8")
    election = loads(SCORING)
    # Two empty ballots still count as voters; "None" is no project, name or category.
    assert election.num_voters == 4
    by_id = {p.id: p for p in election.projects}
    assert by_id["1"].category == "" and by_id["2"].name == "" and by_id["3"].category == ""

    instance, profile = parse_pabulib(str(path))
    assert len(profile) == election.num_voters
    assert [len(b) for b in profile] == [2, 0, 2, 0]
    reference = greedy_utilitarian_welfare(instance, profile, sat_class=Cost_Sat)
    assert sorted(p.name for p in reference) == sorted(tally(election, "greedy").winners)


def test_the_command_line_counts_a_file_with_none_votes(tmp_path: Path, capsys):
    path = tmp_path / "none.pb"
    path.write_text(SCORING, encoding="utf-8")
    assert main([str(path), "--rule", "greedy"]) == 0
    assert "unknown project" not in capsys.readouterr().err


def test_an_approval_file_with_a_none_vote_reads_it_as_an_empty_ballot():
    text = SCORING.replace("vote_type;scoring", "vote_type;approval").replace(
        "voter_id;vote;points", "voter_id;vote"
    )
    text = "\n".join(
        line.rsplit(";", 1)[0] if line[:2] in {"a;", "b;", "c;", "d;"} else line
        for line in text.splitlines()
    )
    election = loads(text)
    assert election.num_voters == 4
    assert tally(election, "greedy").winners == ("2", "3")

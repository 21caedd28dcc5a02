"""The one count result: built from the engine's outcome, stored as JSON and read back whole."""

from __future__ import annotations

from fractions import Fraction

from pb.counting.result import CountResult, ProjectFacts
from pb.tally import Election, Project, Vote, tally


def _result() -> CountResult:
    election = Election(
        projects=[
            Project(id="2", cost=Fraction(300), name="Benches"),
            Project(id="10", cost=Fraction(300), name="Lights"),
            Project(id="7", cost=Fraction(300), name="Trees"),
            Project(id="9", cost=Fraction(100), name="Mural"),
        ],
        budget=Fraction(650),
        votes=[Vote({"2": 1, "10": 1}), Vote({"2": 1, "7": 1}), Vote({"7": 1, "10": 1})],
        vote_type="approval",
    )
    outcome = tally(election, "greedy")
    return CountResult.from_outcome(
        outcome,
        vote_type="approval",
        budget=65_000,
        voters=3,
        minor_units=100,
        facts={
            p.id: ProjectFacts(title=p.name, cost=int(p.cost * 100), area="North")
            for p in election.projects
        },
    )


def test_a_result_keeps_the_engines_sentences_word_for_word():
    result = _result()
    election_sentences = {p.id: p.sentence for p in result.projects}
    assert election_sentences["10"].startswith("Funded (1st): 2 votes")
    assert election_sentences["2"].startswith("Funded (2nd): 2 votes")
    assert election_sentences["9"] == "Not funded: nobody voted for it."


def test_projects_come_in_one_order_funded_as_chosen_then_by_score_then_id_naturally():
    result = _result()
    # 2, 10 and 7 tie on 2 votes: greedy takes them by id as text ("10" < "2" < "7"), so
    # "10" and "2" are funded; "7" no longer fits; "9" had no votes.
    assert result.winners == ("10", "2")
    assert [p.id for p in result.projects] == ["10", "2", "7", "9"]
    assert [p.rank for p in result.projects] == [1, 2, None, None]
    assert result.total_cost == 60_000


def test_the_stored_json_reads_back_as_the_same_result():
    result = _result()
    assert CountResult.from_json(result.to_json()) == result


def test_a_stored_outcome_with_fields_missing_reads_with_plain_defaults():
    result = CountResult.from_json(
        {"winners": [3], "projects": {"3": {"funded": True, "rank": 1, "cost": "x"}}}
    )
    assert result.voters == 0 and result.budget == 0 and result.winners == ("3",)
    (only,) = result.projects
    assert only.title == "Project 3" and only.cost == 0 and only.reason == "funded"
    assert CountResult.from_json(None).projects == ()

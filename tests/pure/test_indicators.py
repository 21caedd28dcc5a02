"""Brisbane indicators on hand-worked examples (no database, no Django)."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from feedback.definitions import (
    deliberation_rows,
    inclusion_rows,
    influence_rows,
    integrity_rows,
)
from feedback.indicators import (
    AuditRecord,
    DemographicQuestion,
    GroupCount,
    IndicatorError,
    ProjectOutcome,
    ProposalDiscussion,
    RoomActivity,
    Share,
    SurveyResponse,
    deliberation_indicators,
    format_decimal,
    format_percent,
    inclusion_indicators,
    influence_indicators,
    integrity_indicators,
    ni4_result,
    ratio,
    recount_check,
)

OPENS = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


def at(hours: float) -> datetime:
    """A time ``hours`` after voting opened (negative: before)."""
    return OPENS + timedelta(hours=hours)


# --- Formatting ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Fraction(1, 3), "33.3%"),
        (Fraction(2, 3), "66.7%"),
        (Fraction(1, 8), "12.5%"),
        (Fraction(1, 16), "6.3%"),  # 6.25 -> half rounded up
        (Fraction(0), "0.0%"),
        (Fraction(1), "100.0%"),
        (Fraction(-1, 16), "-6.3%"),
        (None, None),
    ],
)
def test_percentages_have_one_decimal_rounded_half_up(value: Fraction | None, text: str) -> None:
    assert format_percent(value) == text


def test_decimals_and_ratios() -> None:
    assert format_decimal(Fraction(7, 2)) == "3.5"
    assert format_percent(Fraction(1, 3), 0) == "33%"
    assert ratio(3, 4) == Fraction(3, 4)
    assert ratio(3, 0) is None
    assert Share(0, 0).text() == "n/a (0 of 0)"
    assert Share(37, 300).text() == "12.3% (37 of 300)"


@given(st.fractions(min_value=0, max_value=1))
def test_a_percentage_is_never_more_than_half_a_tenth_off(value: Fraction) -> None:
    text = format_percent(value)
    assert text is not None
    assert abs(Fraction(text.rstrip("%")) - value * 100) <= Fraction(1, 20)


# --- Integrity -------------------------------------------------------------------------------


def test_integrity_when_everything_was_published_in_time_and_never_changed() -> None:
    entries = [
        AuditRecord(at(-48), "publish", "rules"),
        AuditRecord(at(-48), "publish", "budget"),
        AuditRecord(at(-24), "publish", "eligibility"),
        AuditRecord(at(-30), "round.update", "min_age", "Council agreed 16+."),  # before: fine
    ]
    report = integrity_indicators(
        entries,
        voting_opened_at=OPENS,
        stored_winners=["p1", "p2"],
        recounted_winners=["p2", "p1"],
    )
    assert report.published_before_opening
    assert report.unchanged_after_opening
    assert report.recount is not None and report.recount.matched
    assert report.overrides == ()
    assert [t.published_at for t in report.topics] == [at(-48), at(-48), at(-24)]


def test_integrity_lists_late_publications_changes_after_opening_and_overrides() -> None:
    """Budget published exactly when voting opened: not *before*, so it fails and the
    publication itself is listed as a change at opening. Max choices changed 2 hours in: a rules
    change. Eligibility never published. One override with a reason, one without."""
    late_rule = AuditRecord(at(2), "round.update", "max_choices", "Typo in the limit.", "Ann")
    entries = [
        AuditRecord(at(-1), "publish", "rules"),
        AuditRecord(at(0), "publish", "budget"),
        late_rule,
        AuditRecord(at(-5), "split.override", "allocation", "Finish the library."),
        AuditRecord(at(-4), "split.override", "allocation", "  "),
        AuditRecord(at(3), "moderation.hide_contribution", "contribution", "Abuse."),
    ]
    report = integrity_indicators(entries, voting_opened_at=OPENS)
    rules, budget, eligibility = report.topics

    assert rules.published_before_opening
    assert rules.changes_after_opening == (late_rule,)
    assert not budget.published_before_opening
    assert budget.published_at == OPENS
    assert [c.action for c in budget.changes_after_opening] == ["publish"]
    assert eligibility.published_at is None
    assert not eligibility.published_before_opening
    assert not report.published_before_opening
    assert not report.unchanged_after_opening
    assert len(report.overrides) == 2
    assert report.overrides_without_reason == 1
    assert report.recount is None

    rows = {
        indicator: (value, definition) for indicator, value, definition in integrity_rows(report)
    }
    assert rows["Integrity: changes to rules after voting opened"][0] == "1"
    assert (
        "max_choices (Typo in the limit.)"
        in rows["Integrity: changes to rules after voting opened"][1]
    )
    assert rows["Integrity: recount matched the published result"][0] == "n/a"
    assert json.loads(json.dumps(report.to_dict())) == report.to_dict()


def test_a_recount_that_differs_says_how() -> None:
    check = recount_check(["p1", "p2", "p3"], ["p1", "p4", "p3"])
    assert not check.matched
    assert check.only_stored == ("p2",)
    assert check.only_recounted == ("p4",)
    assert not recount_check(["p1", "p1"], ["p1"]).matched
    assert recount_check([], []).matched


# --- Inclusion -------------------------------------------------------------------------------


def inclusion_example() -> tuple[list[GroupCount], DemographicQuestion]:
    areas = [
        GroupCount("Northgate", voters=1_200, population=20_000),
        GroupCount("Riverside", voters=900, population=30_000),
        GroupCount("Hillcrest", voters=0, population=0),
    ]
    tenure = DemographicQuestion(
        question="tenure",
        area_id="Riverside",
        answers={"owner": 500, "private renter": 150, "social renter": 50},
        population={
            "owner": 15_000,
            "private renter": 9_000,
            "social renter": 6_000,
            "other": 0,
        },
        not_answered=200,
    )
    return areas, tenure


def test_inclusion_turnout_channels_and_representation() -> None:
    """Turnout: Northgate 1,200 / 20,000 = 3/50 = 6.0%; Riverside 900 / 30,000 = 3/100 = 3.0%;
    Hillcrest population 0 -> n/a. Overall 2,100 / 50,000 = 21/500 = 4.2%.

    Age 16-24: 150 / 5,000 = 3.0%; 65+: 600 / 8,000 = 7.5%; 25-64: population unknown -> n/a.

    Channels: online 1,500, kiosk 400, paper 200 (sum 2,100): 71.4%, 19.0%, 9.5%; "phone" (0)
    is not one of the three standard channels and is listed after them.

    Tenure in Riverside: 700 answered, 200 did not. Population 30,000.
      owner:          500/700 = 5/7 = 71.4% vs 15,000/30,000 = 1/2 = 50.0%: ratio 10/7, fine
      private renter: 150/700 = 3/14 = 21.4% vs 9,000/30,000 = 3/10 = 30.0%;
                      threshold (1 - 1/5) x 3/10 = 6/25 = 24.0%; 21.4% < 24.0%: under-represented
      social renter:  50/700 = 1/14 = 7.1% vs 6,000/30,000 = 1/5 = 20.0%;
                      threshold 4/5 x 1/5 = 4/25 = 16.0%: under-represented
      other:          0/700 = 0% vs 0/30,000 = 0%: 0 < 0 is false, not flagged
    """
    areas, tenure = inclusion_example()
    report = inclusion_indicators(
        areas=areas,
        age_bands=[
            GroupCount("16-24", 150, 5_000),
            GroupCount("25-64", 1_350, None),
            GroupCount("65+", 600, 8_000),
        ],
        channels={"paper": 200, "online": 1_500, "kiosk": 400, "phone": 0},
        demographics=[tenure],
    )

    assert report.total_voters == 2_100
    assert report.overall.turnout == Fraction(21, 500)
    assert [a.turnout for a in report.areas] == [Fraction(3, 50), Fraction(3, 100), None]
    assert [b.turnout for b in report.age_bands] == [Fraction(3, 100), None, Fraction(3, 40)]
    assert [c for c, _ in report.channels] == ["online", "kiosk", "paper", "phone"]
    assert [format_percent(report.channel_share(c)) for c in ("online", "kiosk", "paper")] == [
        "71.4%",
        "19.0%",
        "9.5%",
    ]

    (summary,) = report.demographics
    assert (summary.answered, summary.not_answered) == (700, 200)
    groups = {g.group: g for g in summary.groups}
    assert groups["owner"].voter_share == Fraction(5, 7)
    assert groups["owner"].population_share == Fraction(1, 2)
    assert groups["owner"].representation == Fraction(10, 7)
    assert groups["private renter"].voter_share == Fraction(3, 14)
    assert groups["private renter"].under_represented
    assert groups["social renter"].under_represented
    assert groups["other"].under_represented is False
    assert summary.under_represented == ("private renter", "social renter")

    data = report.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["overall"]["turnout"] == {"fraction": "21/500", "percent": "4.2%"}
    rows = {indicator: value for indicator, value, _ in inclusion_rows(report)}
    assert rows["Inclusion: turnout in Hillcrest"] == "n/a (0 of 0)"
    assert rows["Inclusion: turnout"] == "4.2% (2,100 of 50,000)"
    assert rows["Inclusion: tenure 'social renter' in Riverside"] == (
        "7.1% of voters, 20.0% of population (under-represented)"
    )


def test_the_margin_is_a_parameter() -> None:
    """With margin 1/2, private renters need fewer than 1/2 x 3/10 = 15% of voters to be
    flagged: at 21.4% they are not; social renters (7.1% < 10%) still are."""
    areas, tenure = inclusion_example()
    report = inclusion_indicators(areas=areas, demographics=[tenure], margin=Fraction(1, 2))
    assert report.demographics[0].under_represented == ("social renter",)


def test_a_group_nobody_answered_for_and_unknown_population() -> None:
    """Population known for "disabled" (1,000 of 10,000 = 10%) but no voter said so: 0% < 8%,
    flagged. A group without a population figure cannot be compared: None, not flagged."""
    question = DemographicQuestion(
        "disability",
        answers={"not disabled": 40, "prefer to self-describe": 2},
        population={"not disabled": 9_000, "disabled": 1_000},
    )
    report = inclusion_indicators(areas=[GroupCount("A", 42, 10_000)], demographics=[question])
    groups = {g.group: g for g in report.demographics[0].groups}
    assert groups["disabled"].voters == 0
    assert groups["disabled"].under_represented
    assert groups["prefer to self-describe"].population_share is None
    assert groups["prefer to self-describe"].under_represented is None


def test_no_voters_and_unknown_population_give_none_not_a_division_by_zero() -> None:
    question = DemographicQuestion("age", answers={}, population={})
    report = inclusion_indicators(
        areas=[GroupCount("A", 0, None), GroupCount("B", 0, 5_000)],
        demographics=[question],
    )
    assert report.overall.population is None
    assert report.overall.turnout is None
    assert report.channel_share("online") is None
    assert report.demographics[0].answered == 0
    assert report.demographics[0].groups == ()
    assert json.dumps(report.to_dict())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"areas": [GroupCount("A", -1, 10)]}, "cannot be negative"),
        ({"areas": [GroupCount("A", 1, 10), GroupCount("A", 1, 10)]}, "listed twice"),
        ({"areas": [], "margin": Fraction(3, 2)}, "between 0 and 1"),
        ({"areas": [], "channels": {"online": -3}}, "cannot be negative"),
    ],
)
def test_impossible_inclusion_data_is_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(IndicatorError, match=message):
        inclusion_indicators(**kwargs)  # type: ignore[arg-type]


# --- Deliberation ----------------------------------------------------------------------------


def test_deliberation_counts_people_once_and_only_held_rooms() -> None:
    """Rooms: r1 held (ann, bo, cy; 12 contributions), r2 held (bo, di; 5), r3 cancelled
    (eve; 0). Held 2 of 3; people {ann, bo, cy, di} = 4; contributions 12 + 5 = 17.
    Details: 180 of 240 voters opened a proposal before voting: 3/4 = 75.0%.
    Both sides argued: only "Skate park" (3 for, 1 against)."""
    report = deliberation_indicators(
        rooms=[
            RoomActivity("r1", True, frozenset({"ann", "bo", "cy"}), 12),
            RoomActivity("r2", True, frozenset({"bo", "di"}), 5),
            RoomActivity("r3", False, frozenset({"eve"}), 0),
        ],
        proposals=[
            ProposalDiscussion("p1", "Skate park", 9, 3, 1),
            ProposalDiscussion("p2", "Benches", 2, 2, 0),
        ],
        voters=240,
        voters_who_opened_details=180,
    )
    assert (report.rooms_held, report.rooms_planned) == (2, 3)
    assert report.distinct_participants == 4
    assert report.room_contributions == 17
    assert report.opened_details.value == Fraction(3, 4)
    assert report.proposals_with_both_sides == 1
    rows = {indicator: value for indicator, value, _ in deliberation_rows(report)}
    assert rows["Deliberation: voters who read proposal details"] == "75.0% (180 of 240)"
    assert rows["Deliberation: discussion of 'Skate park'"] == "9 contributions, 3 for, 1 against"
    assert json.loads(json.dumps(report.to_dict())) == report.to_dict()


def test_deliberation_with_no_voters() -> None:
    report = deliberation_indicators(rooms=[], proposals=[], voters=0, voters_who_opened_details=0)
    assert report.opened_details.value is None
    assert report.to_dict()["opened_details"]["percent"] is None


def test_more_readers_than_voters_is_refused() -> None:
    with pytest.raises(IndicatorError, match="more than the total"):
        deliberation_indicators(rooms=[], proposals=[], voters=5, voters_who_opened_details=6)


# --- Influence -------------------------------------------------------------------------------

PROJECTS = [
    ProjectOutcome("p1", "Skate park", 40_000_00, True, "Most votes.", "delivered"),
    ProjectOutcome("p2", "Benches", 10_000_00, True, "Second most votes.", "in_progress"),
    ProjectOutcome("p3", "Lighting", 25_000_00, True, "Fits the rest.", "delayed"),
    ProjectOutcome("p4", "New library", 90_000_00, False, "Costs more than the money left."),
    ProjectOutcome("p5", "Mural", 5_000_00, False, "Below the 10% support threshold."),
]


def survey() -> list[SurveyResponse]:
    answers = (
        ["definitely_agree"] * 3
        + ["tend_to_agree"] * 5
        + ["tend_to_disagree"] * 4
        + ["definitely_disagree"] * 2
        + ["dont_know"] * 6
    )
    areas = ["N"] * 10 + ["S"] * 10
    scores = [5, 4, 4, 3, 2, None, 5, 4, 1, 3] + [None] * 10
    return [
        SurveyResponse(answer, score, area)
        for answer, score, area in zip(answers, scores, areas, strict=True)
    ] + [SurveyResponse(None, None, "S")]  # skipped both questions


def test_influence_on_a_hand_worked_round() -> None:
    """Money: residents decided £75,000.00 of a £100,000.00 round = 3/4 = 75.0%.

    Funded: p1, p2, p3 (£75,000.00); not funded: p4, p5 with their explanations.
    Proposals: 18 of 24 submitted reached the ballot = 3/4 = 75.0%.
    Status: delivered 1, in progress 1, delayed 1, planned 0.
    Delivered by money: £40,000 / £75,000 = 8/15 = 53.3%.

    NI4 overall: 3 definitely + 5 tend to agree = 8; base = 20 answers - 6 don't know = 14;
    8/14 = 4/7 = 57.1%. (Counting don't know in the base would give 8/20 = 40%: not NI4.)
    Area N (answers 1-10): 3 + 5 agree, 2 tend to disagree: 8/10 = 80.0%.
    Area S (answers 11-20): 2 tend to disagree, 2 definitely disagree, 6 don't know: 0/4 = 0.0%.

    Satisfaction: 5+4+4+3+2+5+4+1+3 = 31 over 9 answers = 31/9 = 3.4.
    """
    report = influence_indicators(
        total_budget=100_000_00,
        resident_decided=75_000_00,
        projects=PROJECTS,
        proposals_submitted=24,
        proposals_on_ballot=18,
        survey=survey(),
    )
    assert report.resident_decided.value == Fraction(3, 4)
    assert [p.project_id for p in report.funded] == ["p1", "p2", "p3"]
    assert report.funded_money == 75_000_00
    assert [(p.title, p.explanation) for p in report.not_funded] == [
        ("New library", "Costs more than the money left."),
        ("Mural", "Below the 10% support threshold."),
    ]
    assert report.reached_ballot.value == Fraction(3, 4)
    assert dict(report.status_counts) == {
        "planned": 0,
        "in_progress": 1,
        "delivered": 1,
        "delayed": 1,
    }
    assert report.delivered_by_money.value == Fraction(8, 15)
    assert report.ni4.answers == 20
    assert report.ni4.base == 14
    assert report.ni4.agreeing.value == Fraction(4, 7)
    north, south = report.ni4_by_area
    assert (north.area_id, north.agreeing.value, north.answers) == ("N", Fraction(4, 5), 10)
    assert (south.area_id, south.agreeing.value, south.base) == ("S", Fraction(0), 4)
    assert report.satisfaction_answers == 9
    assert report.satisfaction_average == Fraction(31, 9)

    data = report.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["ni4"]["agreeing"]["percent"] == "57.1%"
    assert data["satisfaction"]["average_text"] == "3.4"
    assert data["not_funded"][0]["status"] is None
    rows = {indicator: value for indicator, value, _ in influence_rows(report)}
    assert rows["Influence: residents who feel they can influence decisions (NI4)"] == (
        "57.1% (8 of 14)"
    )
    assert rows["Influence: delivered, by money"] == "53.3% (4,000,000 of 7,500,000)"
    assert rows["Influence: satisfaction"] == "3.4 (9 answers)"


def test_no_survey_answers_and_nothing_funded_give_none() -> None:
    report = influence_indicators(
        total_budget=0,
        resident_decided=0,
        projects=[],
        proposals_submitted=0,
        proposals_on_ballot=0,
        survey=[SurveyResponse("dont_know"), SurveyResponse(None)],
    )
    assert report.resident_decided.value is None
    assert report.reached_ballot.value is None
    assert report.delivered_by_money.value is None
    assert report.ni4.answers == 1
    assert report.ni4.base == 0
    assert report.ni4.agreeing.value is None
    assert report.satisfaction_average is None
    assert json.dumps(report.to_dict())


def test_ni4_counts_every_answer_on_the_scale() -> None:
    result = ni4_result(["tend_to_agree", "dont_know", "definitely_disagree"], "N")
    assert result.to_dict() == {
        "area_id": "N",
        "counts": {
            "definitely_agree": 0,
            "tend_to_agree": 1,
            "tend_to_disagree": 0,
            "definitely_disagree": 1,
            "dont_know": 1,
        },
        "answers": 3,
        "base": 2,
        "agreeing": {"part": 1, "whole": 2, "fraction": "1/2", "percent": "50.0%"},
    }


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"resident_decided": 2, "total_budget": 1}, "more than the total"),
        ({"proposals_on_ballot": 3, "proposals_submitted": 2}, "more than the total"),
        ({"survey": [SurveyResponse("strongly_agree")]}, "not an NI4 answer"),
        ({"survey": [SurveyResponse(None, 6)]}, "off the scale"),
        ({"projects": [ProjectOutcome("p", "P", 1, True, status="done")]}, "unknown status"),
        ({"projects": [ProjectOutcome("p", "P", -1, False)]}, "cannot be negative"),
    ],
)
def test_impossible_influence_data_is_refused(kwargs: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {
        "total_budget": 10,
        "resident_decided": 5,
        "projects": [],
        "proposals_submitted": 2,
        "proposals_on_ballot": 1,
    }
    arguments.update(kwargs)
    with pytest.raises(IndicatorError, match=message):
        influence_indicators(**arguments)  # type: ignore[arg-type]


# --- Together --------------------------------------------------------------------------------


def test_the_whole_report_exports_to_json_and_csv() -> None:
    areas, tenure = inclusion_example()
    # As feedback.presenter stores them: each principle's figures and its CSV rows.
    integrity = integrity_indicators([], voting_opened_at=OPENS)
    inclusion = inclusion_indicators(areas=areas, demographics=[tenure])
    deliberation = deliberation_indicators(
        rooms=[], proposals=[], voters=2_100, voters_who_opened_details=1_000
    )
    influence = influence_indicators(
        total_budget=100,
        resident_decided=100,
        projects=PROJECTS,
        proposals_submitted=5,
        proposals_on_ballot=5,
        survey=survey(),
    )
    data = {
        "integrity": integrity.to_dict(),
        "inclusion": inclusion.to_dict(),
        "deliberation": deliberation.to_dict(),
        "influence": influence.to_dict(),
    }
    assert json.loads(json.dumps(data)) == data

    rows = [
        *integrity_rows(integrity),
        *inclusion_rows(inclusion),
        *deliberation_rows(deliberation),
        *influence_rows(influence),
    ]
    assert all(
        len(row) == 3 and all(isinstance(cell, str) and cell for cell in row) for row in rows
    )
    assert {row[0].split(":")[0] for row in rows} == {
        "Integrity",
        "Inclusion",
        "Deliberation",
        "Influence",
    }
    buffer = io.StringIO()
    csv.writer(buffer).writerows([("indicator", "value", "definition"), *rows])
    assert len(list(csv.reader(io.StringIO(buffer.getvalue())))) == len(rows) + 1

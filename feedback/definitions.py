"""The outcome report's indicators in words: each figure as a CSV row with its definition.

``feedback.indicators`` computes the figures (pure maths); this module says them, in English,
as the open data and the report's CSV publish them: (indicator, value as text, definition).
The report page says them in the reader's language (``feedback.presenter``). Pure Python: no
Django.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction

from feedback.indicators import (
    NOT_AVAILABLE,
    STATUSES,
    AuditRecord,
    DeliberationReport,
    InclusionReport,
    InfluenceReport,
    IntegrityReport,
    Share,
    Turnout,
    format_decimal,
    format_percent,
)

Row = tuple[str, str, str]
"""(indicator, value as text, definition): one line of the CSV export."""


IDENTIFICATION_TEXT: Mapping[str, str] = {
    "account_on_register": "an account matched to the register",
    "account_checked": "an account checked by a manager, not on the register",
    "letter_code": "a voter code made for a resident on the register (a letter)",
    "desk_ticked": "ticked on the register at a paper or kiosk desk",
    "anonymous_code": "a voter code for nobody in particular (handed out at the door)",
    "paper_untracked": "a paper ballot with no name ticked",
}


def _yes_no(value: bool | None) -> str:
    return NOT_AVAILABLE if value is None else ("yes" if value else "no")


def _decimal(value: Fraction | None) -> str:
    return NOT_AVAILABLE if value is None else format_decimal(value)


def integrity_rows(report: IntegrityReport) -> list[Row]:
    """The integrity figures as CSV rows, each with its definition."""
    rows: list[Row] = []
    for t in report.topics:
        rows.append(
            (
                f"Integrity: {t.topic} published before voting opened",
                _yes_no(t.published_before_opening),
                f"The {t.topic} were published before voting opened at "
                f"{report.voting_opened_at.isoformat()}.",
            )
        )
        rows.append(
            (
                f"Integrity: changes to {t.topic} after voting opened",
                str(len(t.changes_after_opening)),
                f"Recorded staff actions on the {t.topic} at or after voting opened: "
                + ("; ".join(_describe(c) for c in t.changes_after_opening) or "none")
                + ".",
            )
        )
    rows.append(
        (
            "Integrity: recount matched the published result",
            _yes_no(report.recount.matched if report.recount else None),
            "Counting the published anonymised ballot file again gave the same winning "
            "projects as the stored result (n/a: no recount yet).",
        )
    )
    rows.append(
        (
            "Integrity: staff overrides",
            str(len(report.overrides)),
            "Staff actions that overrode a figure, each with its public reason: "
            + ("; ".join(_describe(o) for o in report.overrides) or "none")
            + ".",
        )
    )
    rows.append(
        (
            "Integrity: staff overrides without a reason",
            str(report.overrides_without_reason),
            "Overrides recorded with a blank public reason (should be 0).",
        )
    )
    for c in report.identification:
        rows.append(
            (
                f"Integrity: ballots whose voter was identified by {c.kind}",
                f"fewer than {report.min_cell}" if c.ballots is None else str(c.ballots),
                f"Ballots whose voter was identified by {IDENTIFICATION_TEXT[c.kind]}"
                + (
                    f" (hidden: fewer than {report.min_cell}, or it would reveal one that is)."
                    if c.ballots is None
                    else "."
                ),
            )
        )
    return rows


def _describe(entry: AuditRecord) -> str:
    reason = entry.reason.strip() or "no reason given"
    return f"{entry.at.isoformat()} {entry.action} {entry.what} ({reason})"


def inclusion_rows(report: InclusionReport) -> list[Row]:
    """The inclusion figures as CSV rows, each with its definition."""
    rows: list[Row] = [
        (
            "Inclusion: voters",
            f"{report.total_voters:,}",
            "People who voted in the round, on any channel.",
        ),
        (
            "Inclusion: turnout",
            _turnout_text(report.overall),
            "Voters / population of the round's areas (n/a if a population is unknown).",
        ),
    ]
    for area in report.areas:
        rows.append(
            (
                f"Inclusion: turnout in {area.key}",
                _turnout_text(area),
                "The area's voters / the area's population.",
            )
        )
    for band in report.age_bands:
        rows.append(
            (
                f"Inclusion: turnout aged {band.key}",
                _turnout_text(band),
                "Voters in the age band / people in the age band in the areas.",
            )
        )
    for channel, voters in report.channels:
        rows.append(
            (
                f"Inclusion: voters by {channel}",
                Share(voters, report.channel_total).text(),
                f"Voters who voted by {channel} / voters on all channels.",
            )
        )
    percent = format_percent(report.margin, 0)
    for summary in report.demographics:
        where = f" in {summary.area_id}" if summary.area_id is not None else ""
        rows.append(
            (
                f"Inclusion: answered '{summary.question}'{where}",
                f"{summary.answered:,} of {summary.answered + summary.not_answered:,}",
                "Voters who answered this voluntary question / voters asked.",
            )
        )
        for g in summary.groups:
            rows.append(
                (
                    f"Inclusion: {summary.question} '{g.group}'{where}",
                    f"{format_percent(g.voter_share) or NOT_AVAILABLE} of voters, "
                    f"{format_percent(g.population_share) or NOT_AVAILABLE} of population"
                    + (" (under-represented)" if g.under_represented else ""),
                    "Group's voters / voters who answered, against the group's population / "
                    "the population of all groups; under-represented when the voter share is "
                    f"more than {percent} below the population share (relative).",
                )
            )
    return rows


def _turnout_text(turnout: Turnout) -> str:
    population = NOT_AVAILABLE if turnout.population is None else f"{turnout.population:,}"
    value = format_percent(turnout.turnout) or NOT_AVAILABLE
    return f"{value} ({turnout.voters:,} of {population})"


def deliberation_rows(report: DeliberationReport) -> list[Row]:
    """The deliberation figures as CSV rows, each with its definition."""
    rows: list[Row] = [
        (
            "Deliberation: rooms held",
            f"{report.rooms_held} of {report.rooms_planned}",
            "Deliberation rooms that met / rooms planned.",
        ),
        (
            "Deliberation: people taking part",
            f"{report.distinct_participants:,}",
            "Distinct people who took part in at least one room (each counted once).",
        ),
        (
            "Deliberation: contributions in rooms",
            f"{report.room_contributions:,}",
            "Contributions made in the rooms held.",
        ),
        (
            "Deliberation: proposals with arguments on both sides",
            f"{report.proposals_with_both_sides} of {len(report.proposals)}",
            "Proposals with at least one argument for and one against.",
        ),
        (
            "Deliberation: voters who read proposal details",
            report.opened_details.text(),
            "Voters who opened at least one proposal's details before voting / voters.",
        ),
    ]
    for p in report.proposals:
        rows.append(
            (
                f"Deliberation: discussion of '{p.title}'",
                f"{p.contributions} contributions, {p.arguments_for} for, "
                f"{p.arguments_against} against",
                "Contributions about the proposal, and arguments marked for and against it.",
            )
        )
    return rows


def influence_rows(report: InfluenceReport) -> list[Row]:
    """The influence figures as CSV rows, each with its definition."""
    low, high = report.satisfaction_scale
    rows: list[Row] = [
        (
            "Influence: share of the budget decided by residents",
            report.resident_decided.text(),
            "Money allocated by residents' votes / all the money of the round (minor units).",
        ),
        (
            "Influence: projects funded",
            f"{len(report.funded)} of {len(report.funded) + len(report.not_funded)}",
            "Projects on the ballot that the count funded.",
        ),
        (
            "Influence: resident proposals that reached the ballot",
            report.reached_ballot.text(),
            "Residents' proposals put on the ballot / residents' proposals submitted.",
        ),
    ]
    for status in STATUSES:
        rows.append(
            (
                f"Influence: funded projects {status.replace('_', ' ')}",
                str(report.status_counts.get(status, 0)),
                f"Funded projects whose implementation status is '{status}'.",
            )
        )
    rows += [
        (
            "Influence: delivered, by money",
            report.delivered_by_money.text(),
            "Cost of funded projects delivered / cost of all funded projects.",
        ),
        (
            "Influence: residents who feel they can influence decisions (NI4)",
            report.ni4.agreeing.text(),
            "(Definitely agree + tend to agree) / all answers except don't know "
            "(the NI4 convention).",
        ),
        (
            "Influence: NI4 answers",
            f"{report.ni4.answers:,}",
            "Answers to the NI4 question, don't know included.",
        ),
    ]
    for area in report.ni4_by_area:
        rows.append(
            (
                f"Influence: NI4 in {area.area_id}",
                area.agreeing.text(),
                "As NI4, counting the area's answers only.",
            )
        )
    rows.append(
        (
            "Influence: satisfaction",
            f"{_decimal(report.satisfaction_average)} ({report.satisfaction_answers:,} answers)",
            f"Mean satisfaction score on a scale from {low} to {high}, over those who answered.",
        )
    )
    for p in report.not_funded:
        rows.append(
            (
                f"Influence: not funded: {p.title}",
                "not funded",
                p.explanation or "No explanation recorded.",
            )
        )
    return rows

"""Brisbane Declaration indicators for a round's outcome report: pure functions, no Django.

The Brisbane Declaration on community engagement (2005) names four principles: integrity,
inclusion, deliberation and influence. Each function here takes plain data (the dataclasses
below, filled by ``feedback`` selectors from the database) and returns a report whose every
figure carries its definition:

- `integrity_indicators`: rules, budget and eligibility published before voting opened and not
  changed after; the recount from the published ballot file; staff overrides and their reasons.
- `inclusion_indicators`: turnout against population, by area, age band and channel; each
  demographic group's share of voters against its share of the population.
- `deliberation_indicators`: rooms, people, contributions, arguments, details read before voting.
- `influence_indicators`: money decided by residents, what was funded and why not the rest,
  proposals that reached the ballot, implementation progress, and the NI4 influence question.

Conventions: shares are exact `Fraction`s, and a share whose base is zero (no population, no
voters, no answers) is ``None``, never a division by zero. Money is an ``int`` in minor units.
Every report has ``to_dict()`` (JSON-serialisable: fractions as "p/q" text next to a percentage
with one decimal). Their words, each figure as a CSV row with its definition, are in
``feedback.definitions``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from fractions import Fraction
from typing import Any

__all__ = [
    "CHANNELS",
    "DEFAULT_MARGIN",
    "DEFAULT_TOPIC_FIELDS",
    "NI4_AGREE",
    "NI4_ANSWERS",
    "NI4_DONT_KNOW",
    "PUBLISH",
    "PUBLISH_ACTIONS",
    "STATUSES",
    "TOPICS",
    "AuditRecord",
    "Channel",
    "DeliberationReport",
    "DeliveryStatus",
    "DemographicQuestion",
    "DemographicSummary",
    "GroupCount",
    "GroupRepresentation",
    "InclusionReport",
    "IndicatorError",
    "InfluenceReport",
    "IntegrityReport",
    "NI4Answer",
    "NI4Result",
    "ProjectOutcome",
    "ProposalDiscussion",
    "RecountCheck",
    "RoomActivity",
    "Share",
    "SurveyResponse",
    "TopicCheck",
    "Turnout",
    "deliberation_indicators",
    "format_decimal",
    "format_fraction",
    "format_percent",
    "inclusion_indicators",
    "influence_indicators",
    "integrity_indicators",
    "ni4_result",
    "ratio",
    "recount_check",
]


NOT_AVAILABLE = "n/a"


class IndicatorError(ValueError):
    """Input data that cannot describe a real round (a negative count, an unknown answer...)."""


# --- Shares and their text -------------------------------------------------------------------


def ratio(part: int | Fraction, whole: int | Fraction) -> Fraction | None:
    """``part / whole`` exactly, or ``None`` when ``whole`` is 0 (nothing to compare with)."""
    if whole == 0:
        return None
    return Fraction(part) / Fraction(whole)


def format_percent(value: Fraction | None, places: int = 1) -> str | None:
    """A share as a percentage with ``places`` decimals, half rounded away from zero.

    ``Fraction(1, 3)`` -> "33.3%", ``Fraction(1, 8)`` -> "12.5%", ``Fraction(1, 16)`` -> "6.3%",
    ``None`` -> ``None``. Exact: no float is involved.
    """
    if value is None:
        return None
    return f"{format_decimal(value * 100, places)}%"


def format_decimal(value: Fraction, places: int = 1) -> str:
    """``value`` with ``places`` decimals, half rounded away from zero.

    ``Fraction(7, 2)`` -> "3.5", ``Fraction(2, 3)`` -> "0.7", ``Fraction(-1, 20)`` -> "-0.1".
    """
    if places < 0:
        raise IndicatorError("A number needs 0 or more decimal places.")
    scaled = abs(value) * 10**places
    rounded = (scaled.numerator * 2 + scaled.denominator) // (scaled.denominator * 2)
    sign = "-" if value < 0 and rounded else ""
    units, decimals = divmod(rounded, 10**places)
    return f"{sign}{units}.{decimals:0{places}d}" if places else f"{sign}{units}"


def format_fraction(value: Fraction | None) -> str | None:
    """A fraction as "p/q" text ("p" when whole), readable back with ``Fraction(text)``."""
    return None if value is None else str(value)


@dataclass(frozen=True)
class Share:
    """A share with the counts it comes from: ``value = part / whole``, ``None`` if whole is 0."""

    part: int
    whole: int

    @property
    def value(self) -> Fraction | None:
        return ratio(self.part, self.whole)

    def to_dict(self) -> dict[str, Any]:
        """``{"part", "whole", "fraction": "p/q" | None, "percent": "12.3%" | None}``."""
        return {
            "part": self.part,
            "whole": self.whole,
            "fraction": format_fraction(self.value),
            "percent": format_percent(self.value),
        }

    def text(self) -> str:
        """For a CSV cell: "12.3% (37 of 300)", or "n/a (0 of 0)" when the base is 0."""
        return f"{format_percent(self.value) or NOT_AVAILABLE} ({self.part:,} of {self.whole:,})"


def _share_dict(value: Fraction | None) -> dict[str, str | None]:
    return {"fraction": format_fraction(value), "percent": format_percent(value)}


def _count(value: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise IndicatorError(f"{what} must be a whole number, not {value!r}.")
    if value < 0:
        raise IndicatorError(f"{what} cannot be negative ({value}).")
    return value


def _not_more(part: int, whole: int, what: str) -> None:
    if part > whole:
        raise IndicatorError(f"{what}: {part} is more than the total of {whole}.")


# --- Integrity -------------------------------------------------------------------------------

TOPICS: tuple[str, ...] = ("rules", "budget", "eligibility")
"""What must be public before voting opens (Brisbane: integrity)."""

DEFAULT_TOPIC_FIELDS: Mapping[str, str] = {
    # The round's own fields (pb.rounds.models.Round) and the split, by what a voter relies on.
    "rules": "rules",
    "ballot_type": "rules",
    "min_choices": "rules",
    "max_choices": "rules",
    "points_total": "rules",
    "score_max": "rules",
    "rank_k": "rules",
    "rule": "rules",
    "min_share": "rules",
    "groups_score_own_bid": "rules",
    "priority_points": "rules",
    "budget": "budget",
    "currency": "budget",
    "split": "budget",
    "split_config": "budget",
    "split_result": "budget",
    "allocation": "budget",
    "eligibility": "eligibility",
    "min_age": "eligibility",
    "require_residence": "eligibility",
    "voter_codes_enabled": "eligibility",
    "anonymous_codes": "eligibility",
    "areas": "eligibility",
}
"""Which topic a changed field belongs to; fields not listed do not count for integrity."""

#: The action of a record that publishes its ``what`` (the report writes one per topic when a
#: round leaves preparation).
PUBLISH = "publish"
PUBLISH_ACTIONS: frozenset[str] = frozenset({PUBLISH})
"""Audit actions that publish their ``what`` (every other action on a topic is a change); a
caller adds its own publishing actions (feedback.selectors adds pb's ``split.publish``)."""


@dataclass(frozen=True)
class AuditRecord:
    """One staff action: when, what was done (``action``), to what (``what``: a field or topic),
    why (``reason``, public) and by whom (``actor``, a display name; may be blank).

    Datetimes must all be timezone-aware (or all naive) so they compare.
    """

    at: datetime
    action: str
    what: str
    reason: str = ""
    actor: str = ""

    def to_dict(self) -> dict[str, str]:
        return {
            "at": self.at.isoformat(),
            "action": self.action,
            "what": self.what,
            "reason": self.reason,
            "actor": self.actor,
        }


@dataclass(frozen=True)
class TopicCheck:
    """One topic (rules, budget or eligibility).

    - ``published_at``: the earliest publishing entry for the topic (``None``: never published).
    - ``published_before_opening``: ``published_at`` is strictly before voting opened.
    - ``changes_after_opening``: every entry on the topic at or after the opening, publishing
      again included (a re-publication after opening is a change voters could not rely on).
    """

    topic: str
    published_at: datetime | None
    published_before_opening: bool
    changes_after_opening: tuple[AuditRecord, ...]

    @property
    def unchanged_after_opening(self) -> bool:
        return not self.changes_after_opening


@dataclass(frozen=True)
class RecountCheck:
    """The recount from the published ballot file against the stored outcome.

    ``matched``: both list the same winners, each the same number of times (order is ignored:
    the outcome is the set of funded projects). ``only_stored``/``only_recounted`` say what
    differs, sorted.
    """

    stored_winners: tuple[str, ...]
    recounted_winners: tuple[str, ...]
    matched: bool
    only_stored: tuple[str, ...]
    only_recounted: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "matched": self.matched,
            "stored_winners": list(self.stored_winners),
            "recounted_winners": list(self.recounted_winners),
            "only_stored": list(self.only_stored),
            "only_recounted": list(self.only_recounted),
        }


def recount_check(stored_winners: Sequence[str], recounted_winners: Sequence[str]) -> RecountCheck:
    """Compare the stored winners with a recount's (see `RecountCheck` for the definition)."""
    stored, recounted = list(stored_winners), list(recounted_winners)
    only_stored = list(stored)
    only_recounted: list[str] = []
    for winner in recounted:
        if winner in only_stored:
            only_stored.remove(winner)
        else:
            only_recounted.append(winner)
    return RecountCheck(
        stored_winners=tuple(stored),
        recounted_winners=tuple(recounted),
        matched=not only_stored and not only_recounted,
        only_stored=tuple(sorted(only_stored)),
        only_recounted=tuple(sorted(only_recounted)),
    )


#: How a ballot's voter was identified, in the order the report lists them.
IDENTIFICATION_KINDS: tuple[str, ...] = (
    "account_on_register",
    "account_checked",
    "letter_code",
    "desk_ticked",
    "anonymous_code",
    "paper_untracked",
)


@dataclass(frozen=True)
class IdentifiedCount:
    """Ballots whose voter was identified one way; ``ballots`` is None where it is hidden."""

    kind: str
    ballots: int | None

    @property
    def suppressed(self) -> bool:
        return self.ballots is None


def identification_counts(
    counts: Mapping[str, int], *, min_cell: int
) -> tuple[IdentifiedCount, ...]:
    """Ballots by how their voter was identified, with small cells hidden.

    Definitions: every kind of ``IDENTIFICATION_KINDS`` is listed (missing ones as 0). A count
    from 1 to ``min_cell - 1`` is hidden, as the ballot files hide a channel used by fewer than
    ``min_cell`` ballots of an area. If that hides exactly one count, the smallest other
    non-zero count is hidden too, so the hidden one cannot be found by subtracting the others
    from the number of ballots.
    """
    unknown = set(counts) - set(IDENTIFICATION_KINDS)
    if unknown:
        raise IndicatorError(f"unknown ways of identifying a voter: {sorted(unknown)}")
    values = {k: _count(counts.get(k, 0), k) for k in IDENTIFICATION_KINDS}
    hidden = {k for k, n in values.items() if 0 < n < min_cell}
    if len(hidden) == 1:
        others = sorted((n, k) for k, n in values.items() if n > 0 and k not in hidden)
        if others:
            hidden.add(others[0][1])
    return tuple(
        IdentifiedCount(kind=k, ballots=None if k in hidden else values[k])
        for k in IDENTIFICATION_KINDS
    )


@dataclass(frozen=True)
class IntegrityReport:
    """Integrity: was the game fixed before play started, and can anyone check the count?"""

    voting_opened_at: datetime
    topics: tuple[TopicCheck, ...]
    recount: RecountCheck | None
    overrides: tuple[AuditRecord, ...]
    #: Ballots by how the voter was identified (``identification_counts``); empty when the
    #: report was made without them.
    identification: tuple[IdentifiedCount, ...] = ()
    min_cell: int = 0

    @property
    def published_before_opening(self) -> bool:
        """Every topic (rules, budget, eligibility) was published before voting opened."""
        return all(t.published_before_opening for t in self.topics)

    @property
    def unchanged_after_opening(self) -> bool:
        """No entry touched any topic at or after the moment voting opened."""
        return all(t.unchanged_after_opening for t in self.topics)

    @property
    def overrides_without_reason(self) -> int:
        """Staff overrides whose public reason is blank (should be 0)."""
        return sum(1 for o in self.overrides if not o.reason.strip())

    def to_dict(self) -> dict[str, Any]:
        return {
            "voting_opened_at": self.voting_opened_at.isoformat(),
            "published_before_opening": self.published_before_opening,
            "unchanged_after_opening": self.unchanged_after_opening,
            "topics": [
                {
                    "topic": t.topic,
                    "published_at": t.published_at.isoformat() if t.published_at else None,
                    "published_before_opening": t.published_before_opening,
                    "changes_after_opening": [c.to_dict() for c in t.changes_after_opening],
                }
                for t in self.topics
            ],
            "recount": self.recount.to_dict() if self.recount else None,
            "overrides": [o.to_dict() for o in self.overrides],
            "overrides_without_reason": self.overrides_without_reason,
            "identification": [
                {"kind": c.kind, "ballots": c.ballots, "suppressed": c.suppressed}
                for c in self.identification
            ],
            "min_cell": self.min_cell,
        }


def integrity_indicators(
    entries: Iterable[AuditRecord],
    *,
    voting_opened_at: datetime,
    stored_winners: Sequence[str] | None = None,
    recounted_winners: Sequence[str] | None = None,
    topic_fields: Mapping[str, str] = DEFAULT_TOPIC_FIELDS,
    publish_actions: Collection[str] = PUBLISH_ACTIONS,
    identified: Mapping[str, int] | None = None,
    min_cell: int = 5,
) -> IntegrityReport:
    """Integrity figures from the audit trail.

    Definitions:
    - An entry is *on a topic* when its ``what`` is the topic's name ("rules", "budget",
      "eligibility") or a field mapped to it in ``topic_fields``.
    - An entry *publishes* its topic when its ``action`` is in ``publish_actions``.
    - Published before opening: the earliest publishing entry is strictly before
      ``voting_opened_at``. Changed after opening: any entry on the topic at or after it.
    - Override: an entry whose action contains "override" (any case), with its reason.
    - Recount: compared only when both ``stored_winners`` and ``recounted_winners`` are given,
      otherwise ``None`` (see `RecountCheck`).
    - Identification: ballots by how the voter was identified, when ``identified`` is given
      (see `identification_counts`).
    """
    records = sorted(entries, key=lambda e: e.at)
    published: dict[str, datetime] = {}
    changes: dict[str, list[AuditRecord]] = {topic: [] for topic in TOPICS}
    overrides: list[AuditRecord] = []
    for entry in records:
        if "override" in entry.action.lower():
            overrides.append(entry)
        topic = entry.what if entry.what in TOPICS else topic_fields.get(entry.what)
        if topic not in changes:
            continue
        if entry.action in publish_actions and topic not in published:
            published[topic] = entry.at
        if entry.at >= voting_opened_at:
            changes[topic].append(entry)
    topics = tuple(
        TopicCheck(
            topic=topic,
            published_at=published.get(topic),
            published_before_opening=topic in published and published[topic] < voting_opened_at,
            changes_after_opening=tuple(changes[topic]),
        )
        for topic in TOPICS
    )
    recount = (
        recount_check(stored_winners, recounted_winners)
        if stored_winners is not None and recounted_winners is not None
        else None
    )
    return IntegrityReport(
        voting_opened_at=voting_opened_at,
        topics=topics,
        recount=recount,
        overrides=tuple(overrides),
        identification=(
            identification_counts(identified, min_cell=min_cell) if identified is not None else ()
        ),
        min_cell=min_cell,
    )


# --- Inclusion -------------------------------------------------------------------------------

# This module's own vocabulary. The site stores the same values in its models' choices
# (pb.voting.models.Channel, feedback.models.DeliveryStatus and NI4Answer), but this core imports no
# Django and nothing of ours (the import contracts in pyproject.toml), so it names them here,
# and the selectors hand it the stored values as they are: a StrEnum member is equal to its
# value. tests/feedback/test_vocabulary.py fails if the two sides ever disagree.


class Channel(StrEnum):
    """How a ballot was cast."""

    ONLINE = "online"
    KIOSK = "kiosk"
    PAPER = "paper"


CHANNELS: tuple[str, ...] = tuple(Channel)
"""The voting channels always shown, even at 0; any other channel follows, sorted."""

DEFAULT_MARGIN = Fraction(1, 5)
"""Under-representation margin: 20% relative (see `GroupRepresentation`)."""


@dataclass(frozen=True)
class GroupCount:
    """Voters in an area or age band, and the people living there (``None``: not known)."""

    key: str
    voters: int
    population: int | None = None


@dataclass(frozen=True)
class Turnout:
    """``turnout`` = voters / population; ``None`` when the population is unknown or 0."""

    key: str
    voters: int
    population: int | None

    @property
    def turnout(self) -> Fraction | None:
        return None if self.population is None else ratio(self.voters, self.population)

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "voters": self.voters,
            "population": self.population,
            "turnout": _share_dict(self.turnout),
        }


@dataclass(frozen=True)
class DemographicQuestion:
    """Voluntary answers to one demographic question (e.g. "ethnicity") for one area.

    ``answers``: group -> voters who said they belong to it. ``population``: group -> people in
    the area's population (census), covering all the question's groups, or empty if unknown.
    ``not_answered``: voters who skipped the question or preferred not to say.
    ``area_id`` ``None`` means the whole round.
    """

    question: str
    answers: Mapping[str, int]
    population: Mapping[str, int] = field(default_factory=dict)
    not_answered: int = 0
    area_id: str | None = None


@dataclass(frozen=True)
class GroupRepresentation:
    """One group's share of the voters who answered against its share of the population.

    - ``voter_share`` = voters in the group / voters who answered the question.
    - ``population_share`` = the group's population / the population over all listed groups.
    - ``representation`` = voter_share / population_share (1 = in proportion).
    - ``under_represented``: voter_share < (1 - margin) x population_share; with the default
      margin of 20%, a group that is 10% of the population is flagged below 8% of the voters.
      ``None`` when either share is unknown.
    """

    group: str
    voters: int
    population: int | None
    voter_share: Fraction | None
    population_share: Fraction | None
    margin: Fraction

    @property
    def representation(self) -> Fraction | None:
        if self.voter_share is None or self.population_share is None:
            return None
        return ratio(self.voter_share, self.population_share)

    @property
    def under_represented(self) -> bool | None:
        if self.voter_share is None or self.population_share is None:
            return None
        return self.voter_share < (1 - self.margin) * self.population_share

    def to_dict(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "voters": self.voters,
            "population": self.population,
            "voter_share": _share_dict(self.voter_share),
            "population_share": _share_dict(self.population_share),
            "representation": format_fraction(self.representation),
            "under_represented": self.under_represented,
        }


@dataclass(frozen=True)
class DemographicSummary:
    """One question in one area: how many answered, and each group's representation."""

    question: str
    area_id: str | None
    answered: int
    not_answered: int
    groups: tuple[GroupRepresentation, ...]

    @property
    def under_represented(self) -> tuple[str, ...]:
        return tuple(g.group for g in self.groups if g.under_represented)

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "area_id": self.area_id,
            "answered": self.answered,
            "not_answered": self.not_answered,
            "under_represented": list(self.under_represented),
            "groups": [g.to_dict() for g in self.groups],
        }


@dataclass(frozen=True)
class InclusionReport:
    """Inclusion: who took part, against who lives there.

    - ``total_voters``: sum of the areas' voters.
    - ``overall``: total voters / total population of the areas; ``None`` if any area's
      population is unknown (a partial base would overstate turnout) or the total is 0.
    - ``channels``: voters per channel; a channel's share is over the sum of all channels.
    """

    total_voters: int
    overall: Turnout
    areas: tuple[Turnout, ...]
    age_bands: tuple[Turnout, ...]
    channels: tuple[tuple[str, int], ...]
    demographics: tuple[DemographicSummary, ...]
    margin: Fraction

    @property
    def channel_total(self) -> int:
        return sum(n for _, n in self.channels)

    def channel_share(self, channel: str) -> Fraction | None:
        """Voters on ``channel`` / voters on all channels (``None`` when nobody voted)."""
        return ratio(dict(self.channels).get(channel, 0), self.channel_total)

    def to_dict(self) -> dict[str, Any]:
        return {
            "total_voters": self.total_voters,
            "overall": self.overall.to_dict(),
            "areas": [a.to_dict() for a in self.areas],
            "age_bands": [a.to_dict() for a in self.age_bands],
            "channels": [
                {"channel": c, "voters": n, "share": _share_dict(self.channel_share(c))}
                for c, n in self.channels
            ],
            "margin": format_fraction(self.margin),
            "demographics": [d.to_dict() for d in self.demographics],
        }


def _turnouts(counts: Sequence[GroupCount], what: str) -> tuple[Turnout, ...]:
    seen: set[str] = set()
    result = []
    for c in counts:
        if c.key in seen:
            raise IndicatorError(f"{what} {c.key!r} is listed twice.")
        seen.add(c.key)
        _count(c.voters, f"Voters in {c.key}")
        if c.population is not None:
            _count(c.population, f"Population of {c.key}")
        result.append(Turnout(key=c.key, voters=c.voters, population=c.population))
    return tuple(result)


def _demographic(question: DemographicQuestion, margin: Fraction) -> DemographicSummary:
    for group, n in question.answers.items():
        _count(n, f"Answers '{group}' to {question.question}")
    for group, n in question.population.items():
        _count(n, f"Population in '{group}' for {question.question}")
    _count(question.not_answered, f"Voters not answering {question.question}")
    answered = sum(question.answers.values())
    population_total = sum(question.population.values())
    groups = list(question.answers)
    groups += [g for g in question.population if g not in question.answers]
    return DemographicSummary(
        question=question.question,
        area_id=question.area_id,
        answered=answered,
        not_answered=question.not_answered,
        groups=tuple(
            GroupRepresentation(
                group=group,
                voters=question.answers.get(group, 0),
                population=question.population.get(group),
                voter_share=ratio(question.answers.get(group, 0), answered),
                population_share=(
                    ratio(question.population[group], population_total)
                    if group in question.population
                    else None
                ),
                margin=margin,
            )
            for group in groups
        ),
    )


def inclusion_indicators(
    *,
    areas: Sequence[GroupCount],
    age_bands: Sequence[GroupCount] = (),
    channels: Mapping[str, int] | None = None,
    demographics: Sequence[DemographicQuestion] = (),
    margin: Fraction = DEFAULT_MARGIN,
) -> InclusionReport:
    """Inclusion figures; definitions on `InclusionReport`, `Turnout`, `GroupRepresentation`.

    ``margin`` is relative, between 0 and 1 inclusive (default 1/5). Raises `IndicatorError` for
    negative counts, a key listed twice or a margin out of range.
    """
    margin = Fraction(margin)
    if not 0 <= margin <= 1:
        raise IndicatorError(f"The margin must be between 0 and 1 (got {margin}).")
    area_turnouts = _turnouts(areas, "The area")
    total_voters = sum(a.voters for a in area_turnouts)
    populations = [a.population for a in area_turnouts]
    total_population = (
        sum(p for p in populations if p is not None) if None not in populations else None
    )
    channel_counts = dict(channels or {})
    for channel, n in channel_counts.items():
        _count(n, f"Voters by {channel}")
    ordered = [*CHANNELS, *sorted(c for c in channel_counts if c not in CHANNELS)]
    return InclusionReport(
        total_voters=total_voters,
        overall=Turnout(key="all areas", voters=total_voters, population=total_population),
        areas=area_turnouts,
        age_bands=_turnouts(age_bands, "The age band"),
        channels=tuple((c, channel_counts.get(c, 0)) for c in ordered),
        demographics=tuple(_demographic(q, margin) for q in demographics),
        margin=margin,
    )


# --- Deliberation ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RoomActivity:
    """A deliberation room: whether it was held (met at least once) and who took part."""

    room_id: str
    held: bool
    participant_ids: frozenset[str] = frozenset()
    contributions: int = 0


@dataclass(frozen=True)
class ProposalDiscussion:
    """What was said about one proposal: contributions, and arguments for and against."""

    proposal_id: str
    title: str
    contributions: int = 0
    arguments_for: int = 0
    arguments_against: int = 0

    @property
    def both_sides(self) -> bool:
        """At least one argument for and one against."""
        return self.arguments_for > 0 and self.arguments_against > 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "proposal_id": self.proposal_id,
            "title": self.title,
            "contributions": self.contributions,
            "arguments_for": self.arguments_for,
            "arguments_against": self.arguments_against,
            "both_sides": self.both_sides,
        }


@dataclass(frozen=True)
class DeliberationReport:
    """Deliberation: the information and discussion voters had.

    - ``rooms_held``: rooms that met; ``rooms_planned``: all rooms, held or not.
    - ``distinct_participants``: people who took part in at least one held room, each once.
    - ``room_contributions``: contributions in held rooms.
    - ``opened_details``: voters who opened at least one proposal's details before voting /
      voters (``None`` when nobody voted).
    """

    rooms_held: int
    rooms_planned: int
    distinct_participants: int
    room_contributions: int
    proposals: tuple[ProposalDiscussion, ...]
    opened_details: Share

    @property
    def proposals_with_both_sides(self) -> int:
        return sum(1 for p in self.proposals if p.both_sides)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rooms_held": self.rooms_held,
            "rooms_planned": self.rooms_planned,
            "distinct_participants": self.distinct_participants,
            "room_contributions": self.room_contributions,
            "proposals_with_both_sides": self.proposals_with_both_sides,
            "proposals": [p.to_dict() for p in self.proposals],
            "opened_details": self.opened_details.to_dict(),
        }


def deliberation_indicators(
    *,
    rooms: Sequence[RoomActivity],
    proposals: Sequence[ProposalDiscussion],
    voters: int,
    voters_who_opened_details: int,
) -> DeliberationReport:
    """Deliberation figures; definitions on `DeliberationReport`.

    Raises `IndicatorError` for negative counts or more readers of details than voters.
    """
    _count(voters, "Voters")
    _count(voters_who_opened_details, "Voters who opened details")
    _not_more(voters_who_opened_details, voters, "Voters who opened details")
    for room in rooms:
        _count(room.contributions, f"Contributions in room {room.room_id}")
    for p in proposals:
        _count(p.contributions, f"Contributions on {p.title}")
        _count(p.arguments_for, f"Arguments for {p.title}")
        _count(p.arguments_against, f"Arguments against {p.title}")
    held = [r for r in rooms if r.held]
    people: set[str] = set()
    for room in held:
        people |= room.participant_ids
    return DeliberationReport(
        rooms_held=len(held),
        rooms_planned=len(rooms),
        distinct_participants=len(people),
        room_contributions=sum(r.contributions for r in held),
        proposals=tuple(proposals),
        opened_details=Share(voters_who_opened_details, voters),
    )


# --- Influence -------------------------------------------------------------------------------


class DeliveryStatus(StrEnum):
    """Implementation status of a funded project ("you said, we did")."""

    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    DELIVERED = "delivered"
    DELAYED = "delayed"


STATUSES: tuple[str, ...] = tuple(DeliveryStatus)
"""Implementation status of a funded project ("you said, we did")."""


class NI4Answer(StrEnum):
    """The NI4 scale: "Do you agree or disagree that you can influence decisions affecting your
    local area?" (Place Survey, National Indicator 4, England 2008)."""

    DEFINITELY_AGREE = "definitely_agree"
    TEND_TO_AGREE = "tend_to_agree"
    TEND_TO_DISAGREE = "tend_to_disagree"
    DEFINITELY_DISAGREE = "definitely_disagree"
    DONT_KNOW = "dont_know"


NI4_ANSWERS: tuple[str, ...] = tuple(NI4Answer)
"""The NI4 answers, in the scale's order."""

NI4_AGREE: frozenset[str] = frozenset({NI4Answer.DEFINITELY_AGREE, NI4Answer.TEND_TO_AGREE})
NI4_DONT_KNOW: str = NI4Answer.DONT_KNOW


@dataclass(frozen=True)
class ProjectOutcome:
    """A project on the ballot: its cost (minor units), whether it was funded, the explanation
    from the count (why funded, or why not), and for funded projects its ``status``."""

    project_id: str
    title: str
    cost: int
    funded: bool
    explanation: str = ""
    status: str = DeliveryStatus.PLANNED

    def to_dict(self) -> dict[str, Any]:
        return {
            "project_id": self.project_id,
            "title": self.title,
            "cost": self.cost,
            "funded": self.funded,
            "explanation": self.explanation,
            "status": self.status if self.funded else None,
        }


@dataclass(frozen=True)
class SurveyResponse:
    """One answer to the outcome survey: the NI4 ``influence`` answer (``None``: skipped) and a
    ``satisfaction`` score on the round's scale (``None``: skipped), for an area or none."""

    influence: str | None
    satisfaction: int | None = None
    area_id: str | None = None


@dataclass(frozen=True)
class NI4Result:
    """NI4 for one area (``area_id``) or overall (``None``).

    The NI4 convention: share agreeing = (definitely agree + tend to agree) / all answers
    except "don't know" (and except those who skipped the question). ``answers`` counts every
    answer given, "don't know" included; ``base`` excludes it. ``None`` when the base is 0.
    """

    area_id: str | None
    counts: Mapping[str, int]
    agreeing: Share

    @property
    def answers(self) -> int:
        return sum(self.counts.values())

    @property
    def base(self) -> int:
        return self.agreeing.whole

    def to_dict(self) -> dict[str, Any]:
        return {
            "area_id": self.area_id,
            "counts": {answer: self.counts.get(answer, 0) for answer in NI4_ANSWERS},
            "answers": self.answers,
            "base": self.base,
            "agreeing": self.agreeing.to_dict(),
        }


def ni4_result(answers: Iterable[str], area_id: str | None = None) -> NI4Result:
    """Count NI4 answers; see `NI4Result` for the definition. Unknown answers are an error."""
    counts = dict.fromkeys(NI4_ANSWERS, 0)
    for answer in answers:
        if answer not in counts:
            raise IndicatorError(
                f"{answer!r} is not an NI4 answer (expected one of {', '.join(NI4_ANSWERS)})."
            )
        counts[answer] += 1
    agree = sum(counts[a] for a in NI4_AGREE)
    base = sum(counts.values()) - counts[NI4_DONT_KNOW]
    return NI4Result(area_id=area_id, counts=counts, agreeing=Share(agree, base))


@dataclass(frozen=True)
class InfluenceReport:
    """Influence: what residents decided, and what came of it.

    - ``resident_decided``: money decided by residents' votes / total money of the round.
    - ``funded`` / ``not_funded``: the projects, each with its explanation, passed through.
    - ``reached_ballot``: resident proposals on the ballot / resident proposals submitted.
    - ``status_counts``: funded projects by implementation status.
    - ``delivered_by_money``: cost of delivered funded projects / cost of all funded projects.
    - ``ni4`` and ``ni4_by_area``: see `NI4Result`.
    - ``satisfaction_average``: mean of the satisfaction scores given (``None`` if none), on
      ``satisfaction_scale`` (lowest, highest).
    """

    resident_decided: Share
    funded: tuple[ProjectOutcome, ...]
    not_funded: tuple[ProjectOutcome, ...]
    reached_ballot: Share
    status_counts: Mapping[str, int]
    delivered_by_money: Share
    ni4: NI4Result
    ni4_by_area: tuple[NI4Result, ...]
    satisfaction_answers: int
    satisfaction_average: Fraction | None
    satisfaction_scale: tuple[int, int]

    @property
    def funded_money(self) -> int:
        return sum(p.cost for p in self.funded)

    def to_dict(self) -> dict[str, Any]:
        return {
            "resident_decided": self.resident_decided.to_dict(),
            "funded_money": self.funded_money,
            "funded": [p.to_dict() for p in self.funded],
            "not_funded": [p.to_dict() for p in self.not_funded],
            "reached_ballot": self.reached_ballot.to_dict(),
            "status_counts": dict(self.status_counts),
            "delivered_by_money": self.delivered_by_money.to_dict(),
            "ni4": self.ni4.to_dict(),
            "ni4_by_area": [r.to_dict() for r in self.ni4_by_area],
            "satisfaction": {
                "answers": self.satisfaction_answers,
                "average": format_fraction(self.satisfaction_average),
                "average_text": _decimal(self.satisfaction_average),
                "scale": list(self.satisfaction_scale),
            },
        }


def _decimal(value: Fraction | None) -> str | None:
    return None if value is None else format_decimal(value)


def influence_indicators(
    *,
    total_budget: int,
    resident_decided: int,
    projects: Sequence[ProjectOutcome],
    proposals_submitted: int,
    proposals_on_ballot: int,
    survey: Sequence[SurveyResponse] = (),
    satisfaction_scale: tuple[int, int] = (1, 5),
) -> InfluenceReport:
    """Influence figures; definitions on `InfluenceReport` and `NI4Result`.

    Areas in ``ni4_by_area`` appear in order of first answer. Raises `IndicatorError` for
    negative amounts or counts, more money decided than the total, more proposals on the ballot
    than submitted, an unknown status or NI4 answer, or a satisfaction score off the scale.
    """
    _count(total_budget, "The round's money")
    _count(resident_decided, "Money decided by residents")
    _not_more(resident_decided, total_budget, "Money decided by residents")
    _count(proposals_submitted, "Resident proposals submitted")
    _count(proposals_on_ballot, "Resident proposals on the ballot")
    _not_more(proposals_on_ballot, proposals_submitted, "Resident proposals on the ballot")
    low, high = satisfaction_scale
    if low > high:
        raise IndicatorError(f"The satisfaction scale goes from {low} up to {high}: swap them.")

    status_counts = dict.fromkeys(STATUSES, 0)
    for project in projects:
        _count(project.cost, f"The cost of {project.title}")
        if project.funded:
            if project.status not in status_counts:
                raise IndicatorError(
                    f"{project.title}: unknown status {project.status!r} "
                    f"(expected one of {', '.join(STATUSES)})."
                )
            status_counts[project.status] += 1
    funded = tuple(p for p in projects if p.funded)
    delivered = sum(p.cost for p in funded if p.status == DeliveryStatus.DELIVERED)

    answers_by_area: dict[str, list[str]] = {}
    all_answers: list[str] = []
    scores: list[int] = []
    for response in survey:
        if response.influence is not None:
            all_answers.append(response.influence)
            if response.area_id is not None:
                answers_by_area.setdefault(response.area_id, []).append(response.influence)
        if response.satisfaction is not None:
            if not low <= response.satisfaction <= high:
                raise IndicatorError(
                    f"A satisfaction score of {response.satisfaction} is off the scale "
                    f"({low} to {high})."
                )
            scores.append(response.satisfaction)

    return InfluenceReport(
        resident_decided=Share(resident_decided, total_budget),
        funded=funded,
        not_funded=tuple(p for p in projects if not p.funded),
        reached_ballot=Share(proposals_on_ballot, proposals_submitted),
        status_counts=status_counts,
        delivered_by_money=Share(delivered, sum(p.cost for p in funded)),
        ni4=ni4_result(all_answers),
        ni4_by_area=tuple(ni4_result(a, area_id) for area_id, a in answers_by_area.items()),
        satisfaction_answers=len(scores),
        satisfaction_average=ratio(sum(scores), len(scores)),
        satisfaction_scale=(low, high),
    )

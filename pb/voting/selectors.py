"""Reads for voting: the ballot a voter sees, turnout, paper queues, the decision-day reveal.

The casting path reads the ballot from :func:`ballot_spec`, a small frozen value cached for a
minute (the shortlist is frozen once voting opens), so a cast does not query the proposals.
Turnout is counted from the participation index at most once every few seconds per round and
served from the cache in between, however many screens ask.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from backend.accounts import rules as base_rules
from backend.accounts.models import Actor
from backend.errors import DomainError
from pb.areas.models import Area
from pb.counting.models import Tally
from pb.counting.selectors import tally_result
from pb.counting.wording import project_sentence
from pb.money import format_money
from pb.phases import EVENT_PHASES, Action, allows
from pb.proposals.models import Proposal
from pb.proposals.selectors import shortlist, translations_for
from pb.rounds.models import BallotType, Round, RoundArea, RoundStyle
from pb.services.register import normalise_postcode
from pb.voting import rules
from pb.voting.alphabet import random_code
from pb.voting.desk_token import desk_token
from pb.voting.models import (
    Channel,
    DecisionDay,
    KioskSession,
    PaperBallot,
    PaperStatus,
    Participation,
    RegisterEntry,
    VoterCode,
)

SPEC_SECONDS = 60
TURNOUT_SECONDS = 3


@dataclass(frozen=True)
class BallotItem:
    id: int
    title: str
    cost: int
    group: str


@dataclass(frozen=True)
class BallotSpec:
    """Everything needed to check a ballot for one round and area, with no database access."""

    round_id: int
    area_id: int
    ballot_type: str
    limit: int
    currency: str
    min_choices: int
    max_choices: int | None
    points_total: int
    score_max: int
    rank_k: int
    groups_score_own_bid: bool
    items: tuple[BallotItem, ...]

    @property
    def by_id(self) -> dict[str, BallotItem]:
        return {str(item.id): item for item in self.items}

    # What kind of ballot it is, for templates (which then name no ballot type by its value).
    @property
    def is_approval(self) -> bool:
        """Voters tick projects (up to the budget or up to a number of them)."""
        return self.ballot_type in (BallotType.APPROVAL_BUDGET, BallotType.APPROVAL_COUNT)

    @property
    def is_score(self) -> bool:
        return self.ballot_type == BallotType.SCORE

    @property
    def is_cumulative(self) -> bool:
        return self.ballot_type == BallotType.CUMULATIVE

    @property
    def is_ranking(self) -> bool:
        return self.ballot_type == BallotType.RANKING


def _spec_key(round_id: int, area_id: int) -> str:
    return f"voting:spec:v1:{round_id}:{area_id}"


def ballot_spec_cached(*, round_id: int, area_id: int) -> BallotSpec | None:
    """The ballot ``ballot_spec`` gives, if it is in the cache (the voting hot path checks a
    ballot with it before reading the round); ``None`` if not."""
    found = cache.get(_spec_key(round_id, area_id))
    return found if isinstance(found, BallotSpec) else None


def ballot_spec(*, round: Round, area_id: int) -> BallotSpec:
    """The ballot of ``round`` for the area ``area_id``; raises if the area is not in the round.

    A decision day has one pot: every bid of the round is on every ballot and the limit is the
    round's budget. A city round shows the area's shortlist within the area's allocation (or
    the round's budget when the split has not given it one).
    """
    key = _spec_key(round.pk, area_id)
    found = cache.get(key)
    if isinstance(found, BallotSpec):
        return found
    allocation = (
        RoundArea.objects.filter(round=round, area_id=area_id)
        .values_list("allocation", flat=True)
        .first()
    )
    if allocation is None and not RoundArea.objects.filter(round=round, area_id=area_id).exists():
        raise DomainError(_("That area is not taking part in this round."), field="area")
    one_pot = round.style == RoundStyle.DECISION_DAY
    proposals = shortlist(round=round, area=None if one_pot else area_id)
    spec = BallotSpec(
        round_id=round.pk,
        area_id=area_id,
        ballot_type=round.ballot_type,
        limit=round.budget if one_pot or allocation is None else allocation,
        currency=round.currency,
        min_choices=round.min_choices,
        max_choices=round.max_choices,
        points_total=round.points_total,
        score_max=round.score_max,
        rank_k=round.rank_k,
        groups_score_own_bid=round.groups_score_own_bid,
        items=tuple(BallotItem(p.pk, p.title, p.cost, p.group_name) for p in proposals),
    )
    cache.set(key, spec, SPEC_SECONDS)
    return spec


def rule_sentence(spec: BallotSpec) -> str:
    """The rule of the ballot in one plain sentence, shown above the choices."""
    money = format_money(spec.limit, spec.currency)
    if spec.ballot_type == BallotType.APPROVAL_BUDGET:
        return _(
            "Choose the projects you want, as many as you like, as long as their total cost is "
            "no more than %(money)s."
        ) % {"money": money}
    if spec.ballot_type == BallotType.APPROVAL_COUNT:
        top = spec.max_choices or len(spec.items)
        if top == spec.min_choices:
            return ngettext("Choose %(n)d project.", "Choose %(n)d projects.", top) % {"n": top}
        return ngettext(
            "Choose between %(low)d and %(high)d project.",
            "Choose between %(low)d and %(high)d projects.",
            top,
        ) % {
            "low": spec.min_choices,
            "high": top,
        }
    if spec.ballot_type == BallotType.SCORE:
        sentence = _("Give every bid a score from 1 (least) to %(top)d (most).") % {
            "top": spec.score_max
        }
        if not spec.groups_score_own_bid:
            sentence += " " + _("If you belong to a group that made a bid, leave your bid out.")
        return sentence
    if spec.ballot_type == BallotType.CUMULATIVE:
        return ngettext(
            "Share out exactly %(n)d point between the projects you like.",
            "Share out exactly %(n)d points between the projects you like.",
            spec.points_total,
        ) % {"n": spec.points_total}
    return ngettext(
        "Put up to %(k)d project in order: 1 for your first choice.",
        "Put up to %(k)d projects in order: 1 for your first choice.",
        spec.rank_k,
    ) % {"k": spec.rank_k}


def proposals_for_ballot(spec: BallotSpec) -> list[Proposal]:
    """The shortlisted proposals in ballot order, for pages that show descriptions."""
    order = {item.id: n for n, item in enumerate(spec.items)}
    rows = Proposal.objects.filter(pk__in=order).select_related("area", "theme")
    return sorted(rows, key=lambda p: order[p.pk])


@dataclass(frozen=True)
class PrintedChoice:
    title: str
    #: The language the title is written in (a manager's translation, or the author's own).
    language: str
    cost: str


@dataclass(frozen=True)
class PrintedPapers:
    """Blank ballot papers for one area, written in one language."""

    language: str
    bidi: bool
    round_name: str
    area_name: str
    sentence: str
    how_to_mark: str
    choices: tuple[PrintedChoice, ...]
    numbers: tuple[str, ...]


#: Letters and digits of a printed paper's number: 26**8 ≈ 2e11, so papers printed at different
#: times do not share a number, and short enough to type when keying.
PAPER_NUMBER_LENGTH = 8


def paper_numbers(copies: int) -> tuple[str, ...]:
    """``copies`` different random paper numbers. Not consecutive on purpose: ticks are kept
    in the order names were ticked, so papers numbered in the order they are handed out would
    pair each ticked name with its keyed paper's choices (docs/secrecy.md)."""
    numbers: dict[str, None] = {}
    while len(numbers) < copies:
        numbers[random_code(PAPER_NUMBER_LENGTH)] = None
    return tuple(numbers)


def papers_to_print(*, round: Round, area: Area, language: str, copies: int) -> PrintedPapers:
    """The ballot of ``area`` as paper, in ``language``: the rule, how to mark it, and each
    project (in a manager's translation where there is one), each paper with its own random
    number (``paper_numbers``) that the two people who key it later type."""
    spec = ballot_spec(round=round, area_id=area.pk)
    proposals = proposals_for_ballot(spec)
    translated = translations_for(proposal_ids=[p.pk for p in proposals], language=language)
    with translation.override(language):
        sentence = rule_sentence(spec)
        marks: dict[str, str] = {
            BallotType.APPROVAL_BUDGET: _("Put a cross (X) in the box of each project you choose."),
            BallotType.APPROVAL_COUNT: _("Put a cross (X) in the box of each project you choose."),
            BallotType.SCORE: _("Write your score in the box of each bid."),
            BallotType.CUMULATIVE: _("Write your points in the box of each project you like."),
        }
        marking = marks.get(
            spec.ballot_type,
            _("Write 1 in the box of the project you like most, 2 for the next, and so on."),
        )
        choices = tuple(
            PrintedChoice(
                title=translated[p.pk].title if p.pk in translated else p.title,
                language=language if p.pk in translated else p.language,
                cost=format_money(p.cost, spec.currency),
            )
            for p in proposals
        )
        bidi = translation.get_language_bidi()
    return PrintedPapers(
        language=language,
        bidi=bidi,
        round_name=round.name,
        area_name=area.name,
        sentence=sentence,
        how_to_mark=marking,
        choices=choices,
        numbers=paper_numbers(copies),
    )


def voting_areas(*, round: Round) -> QuerySet[Area]:
    return round.areas.order_by("name")


def round_area(*, round: Round, area_id: int) -> Area:
    """One of the round's areas (``Area.DoesNotExist`` if it takes no part)."""
    return round.areas.get(pk=area_id)


def decision_day(*, round: Round) -> DecisionDay | None:
    """A decision day round's live state (opened, closed, bids revealed), once opened."""
    return DecisionDay.objects.filter(round=round).first()


# --- Turnout --------------------------------------------------------------------------------


def _turnout_key(round_id: int) -> str:
    return f"voting:turnout:v1:{round_id}"


def turnout(*, round: Round, fresh: bool = False) -> dict[str, Any]:
    """Participation by area and channel, plus spoilt paper ballots.

    Counted with one grouped query on the ``participation_turnout`` index and cached for a few
    seconds, so a venue screen refreshing every few seconds, or many of them, cost one count.
    """
    key = _turnout_key(round.pk)
    if not fresh:
        found = cache.get(key)
        if isinstance(found, dict):
            return found
    rows = (
        Participation.objects.filter(round=round)
        .ballots()
        .values("area_id", "channel")
        .annotate(n=Count("id"))
        .order_by()
    )
    names = dict(round.areas.values_list("pk", "name"))
    by_area: dict[int, dict[str, int]] = defaultdict(lambda: {c.value: 0 for c in Channel})
    for area_id in names:
        by_area[area_id]
    totals = {c.value: 0 for c in Channel}
    for row in rows:
        by_area[row["area_id"]][row["channel"]] = row["n"]
        totals[row["channel"]] += row["n"]
    spoilt = PaperBallot.objects.filter(round=round, status=PaperStatus.SPOILT).count()
    result = {
        "round": round.pk,
        "total": sum(totals.values()),
        "by_channel": totals,
        "spoilt_paper": spoilt,
        "areas": [
            {
                "area": area_id,
                "name": names.get(area_id, ""),
                "total": sum(counts.values()),
                "by_channel": counts,
            }
            for area_id, counts in sorted(by_area.items(), key=lambda kv: names.get(kv[0], ""))
        ],
    }
    cache.set(key, result, TURNOUT_SECONDS)
    return result


def forget_turnout(*, round_id: int) -> None:
    cache.delete(_turnout_key(round_id))


# --- Kiosks and paper -----------------------------------------------------------------------


def kiosks_for_round(*, round: Round) -> QuerySet[KioskSession]:
    return KioskSession.objects.filter(round=round).select_related("area", "unlocked_by")


def kiosk_session(*, kiosk_id: Any, round: Round | None = None) -> KioskSession | None:
    """The kiosk a browser's session names (with its round and area), or one of ``round``'s
    kiosks; ``None`` when there is no such kiosk."""
    found = KioskSession.objects.select_related("round", "area").filter(pk=kiosk_id)
    if round is not None:
        found = found.filter(round=round)
    return found.first()


def paper_of_round(*, round: Round, paper_id: int) -> PaperBallot | None:
    return PaperBallot.objects.filter(pk=paper_id, round=round).first()


def proposal_titles(*, round: Round) -> dict[int, str]:
    """Each of the round's proposals' title by id, to show a paper's keyed choices."""
    return dict(round.proposals.values_list("pk", "title"))


def reconciliation_queue(*, round: Round) -> QuerySet[PaperBallot]:
    return (
        PaperBallot.objects.filter(round=round, status=PaperStatus.MISMATCH)
        .prefetch_related("entries__area", "entries__keyed_by")
        .order_by("created_at", "id")
    )


def paper_counts(*, round: Round) -> dict[str, int]:
    rows = PaperBallot.objects.filter(round=round).values("status").annotate(n=Count("id"))
    counts = {s.value: 0 for s in PaperStatus}
    for row in rows:
        counts[row["status"]] = row["n"]
    return counts


# --- Decision day reveal --------------------------------------------------------------------


@dataclass(frozen=True)
class RevealRow:
    rank: int
    id: str
    title: str
    cost: int
    score: int
    funded: bool
    sentence: str
    money_left: int


def reveal_rows(*, round: Round) -> list[RevealRow] | None:
    """The decision day's bids in rank order, from the round's latest stored tally.

    ``None`` while no tally exists yet (the count runs when voting closes). ``money_left`` is
    what remains of the pot after this bid and every funded bid above it.
    """
    tally = Tally.objects.filter(round=round, area=None).order_by("-created_at", "-pk").first()
    if tally is None:
        tally = Tally.objects.filter(round=round).order_by("-created_at", "-pk").first()
    if tally is None:
        return None
    result = tally_result(tally)
    left = result.budget
    rows: list[RevealRow] = []
    for position, p in enumerate(result.projects, start=1):
        if p.funded:
            left -= p.cost
        rows.append(
            RevealRow(
                rank=p.rank or position,
                id=p.id,
                title=p.title,
                cost=p.cost,
                score=p.score,
                funded=p.funded,
                sentence=project_sentence(p),
                money_left=left,
            )
        )
    return rows


def has_voted(*, round: Round, user: Actor) -> bool:
    """Whether this signed-in person has already voted in the round with their account."""
    voter = base_rules.user_or_none(user)
    return voter is not None and Participation.objects.filter(round=round, voter=voter).exists()


def rounds_with_receipt_cookie(*, user: Actor) -> QuerySet[Round]:
    """The rounds whose receipt page may hold a receipt cookie in this person's browser: every
    round open for a vote or being counted (the cookie lives 15 minutes) and, for a signed-in
    person, every round they voted in. Only ``pk`` and ``slug`` are loaded."""
    rounds = Round.objects.filter(phase__in=EVENT_PHASES)
    if base_rules.is_signed_in(user):
        rounds = rounds | Round.objects.filter(participations__voter=user)
    return rounds.only("pk", "slug").distinct()


def ballots_cast_by_round() -> dict[str, int]:
    """How many people have voted in each round (participations: one per ballot cast)."""
    rows = Participation.objects.ballots().values("round__slug").annotate(n=Count("id"))
    return {row["round__slug"]: row["n"] for row in rows}


# --- Ticking names at the desks -------------------------------------------------------------

#: A desk search shows at most this many residents: staff narrow it with the postcode or the
#: birth year rather than scroll through the register.
DESK_SEARCH_LIMIT = 20


@dataclass(frozen=True)
class DeskEntry:
    """A resident found at a desk, with what the desk needs to know before ticking them."""

    entry: RegisterEntry
    area_name: str
    voted: bool
    ticked_at_kiosk: bool
    #: What the tick button sends instead of the entry's id (``pb.voting.desk_token``).
    token: str


def desk_name_query(name: str) -> Q | None:
    """Register names that hold every word of ``name`` as a whole word (case ignored; a word
    ends at a space or a hyphen, so "Jones" finds "Ann Smith-Jones"), or ``None`` when ``name``
    has no word of at least 2 letters. "Jon" does not find "Ann Jones": the desk finds a person
    the voter names, it is not a way to read the register by fragments."""
    words = name.split()
    if not any(len(w) >= 2 for w in words):
        return None
    query = Q()
    for word in words:
        query &= Q(name__iregex=rf"(^|[ -]){re.escape(word)}($|[ -])")
    return query


def desk_register_search(
    *, actor: Actor, round: Round, name: str, postcode: str = "", birth_year: int | None = None
) -> tuple[list[DeskEntry], bool]:
    """Residents on the register of the round's areas whose desks ``actor`` runs, whose name
    holds every word of ``name`` whole (``desk_name_query``) and who have this postcode or
    birth year (case and spaces ignored), and whether more were found than are shown. A name
    alone, part of a word, or a round whose voting is not open finds nobody: the desk is not a
    way to browse the register, and a name is ticked only while voting is open."""
    postcode = normalise_postcode(postcode)
    by_name = desk_name_query(name)
    if by_name is None or not (postcode or birth_year) or not allows(round.phase, Action.VOTE):
        return [], False
    staff = base_rules.user_or_none(actor)
    if staff is None:  # a visitor runs no desk (``rules.can_run_event``)
        return [], False
    areas = [a for a in round.areas.all() if rules.can_run_event(actor, round, a)]
    found = RegisterEntry.objects.filter(Q(area__in=areas) | Q(area__parent__in=areas), by_name)
    if postcode:
        found = found.filter(match_key__contains=f"|{postcode}|")
    if birth_year:
        found = found.filter(birth_year=birth_year)
    rows = list(
        found.select_related("area", "area__parent")
        .annotate(
            voted=Exists(Participation.objects.filter(round=round, register_entry=OuterRef("pk"))),
            at_desk=Exists(
                VoterCode.objects.filter(round=round, register_entry=OuterRef("pk"), at_desk=True)
            ),
        )
        .order_by("name", "postcode", "pk")[: DESK_SEARCH_LIMIT + 1]
    )
    by_id = {a.pk: a for a in areas}
    return [
        DeskEntry(
            entry=e,
            area_name=(by_id.get(e.area_id) or by_id[e.area.parent_id or 0]).name,
            voted=e.voted,
            ticked_at_kiosk=e.at_desk,
            token=desk_token(round_id=round.pk, user_id=staff.pk, entry_id=e.pk),
        )
        for e in rows[:DESK_SEARCH_LIMIT]
    ], len(rows) > DESK_SEARCH_LIMIT


def letters_waiting(*, round: Round, areas: list[Area]) -> dict[int, int]:
    """For each area, how many residents on its register (its neighbourhoods' too) have no
    voter code for this round yet: the letters the next mail merge would make."""
    return {
        area.pk: RegisterEntry.objects.filter(Q(area=area) | Q(area__parent=area))
        .exclude(voter_codes__round=round)
        .count()
        for area in areas
    }

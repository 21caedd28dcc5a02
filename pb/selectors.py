"""Reads for rounds, areas and proposals. Views and the API call these, never raw queries."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Count, F, Q, QuerySet
from django.utils.translation import gettext as _

from backend.accounts import rules
from backend.accounts.models import Actor, Role
from backend.errors import Missing
from pb import rules as pb_rules
from pb.areas.models import Area
from pb.counting.models import Tally
from pb.counting.result import CountResult
from pb.counting.selectors import tally_result
from pb.counting.unspent import Policy, unspent_money
from pb.counting.wording import project_sentence, second_pass_sentence
from pb.models import AuditEntry
from pb.phases import EVENT_PHASES, Phase, has_results
from pb.proposals.models import (
    Comment,
    CommentFlag,
    Proposal,
    ProposalStatus,
    ProposalTranslation,
    Support,
)
from pb.rounds.models import Round, RoundStyle, UnspentMoney
from pb.services.register import normalise_name, normalise_postcode
from pb.split.models import ThemeRanking
from pb.voting.models import RegisterEntry

PUBLIC_STATUSES = [
    ProposalStatus.SUBMITTED,
    ProposalStatus.FEASIBLE,
    ProposalStatus.NOT_FEASIBLE,
    ProposalStatus.MERGED,
    ProposalStatus.WITHDRAWN,
]


def get_visible_round(
    *,
    user: Actor,
    slug: str | None = None,
    pk: int | None = None,
    queryset: QuerySet[Round] | None = None,
    with_areas: bool = False,
    may: Callable[[Any, Round], bool] | None = None,
) -> Round:
    """The round named by ``slug`` or ``pk``, if this person may see it: every page, API view
    and consumer fetches a round through here. A round being prepared answers 404 (``Missing``)
    to all but its managers, exactly as a round that does not exist. A staff page passes the
    rule that lets a person in (``may``, such as ``pb.rules.can_manage_round``): anyone else is
    refused with 403 (``PermissionDenied``)."""
    rounds = Round.objects.all() if queryset is None else queryset
    if with_areas:
        rounds = rounds.prefetch_related("areas")
    round_ = (rounds.filter(slug=slug) if slug is not None else rounds.filter(pk=pk or 0)).first()
    if round_ is None or not pb_rules.can_see_round(user, round_):
        raise Missing(_("There is no such round."))
    if may is not None and not may(user, round_):
        raise PermissionDenied
    return round_


def round_list_public() -> QuerySet[Round]:
    """Rounds residents can see: everything past preparation, newest first."""
    return Round.objects.exclude(phase=Phase.DRAFT).prefetch_related("areas")


def round_list_for_manager(*, user: Actor) -> QuerySet[Round]:
    if rules.is_admin(user):
        return Round.objects.all()
    if not rules.manages_any_area(user):
        return Round.objects.none()
    return Round.objects.filter(areas__in=user.managed_areas.all()).distinct()


def round_list_visible(*, user: Actor) -> QuerySet[Round]:
    """Public rounds, plus the drafts this person manages."""
    managed = round_list_for_manager(user=user).values("pk")
    return Round.objects.filter(Q(pk__in=managed) | ~Q(phase=Phase.DRAFT))


def has_supported(*, user: Actor, proposal: Proposal) -> bool:
    """Whether this person supports the proposal (anyone not signed in does not)."""
    return (
        rules.is_signed_in(user) and Support.objects.filter(proposal=proposal, user=user).exists()
    )


def proposal_list_for_author(*, author: Actor) -> QuerySet[Proposal]:
    if not rules.is_signed_in(author):
        return Proposal.objects.none()
    return Proposal.objects.filter(author=author).select_related("round", "area")


def proposal_list_for_round(
    *,
    round: Round,
    area: Any = None,
    theme: Any = None,
    status: str | None = None,
    q: str = "",
) -> QuerySet[Proposal]:
    """Public proposals of a round, filtered; drafts never appear here."""
    qs = Proposal.objects.filter(round=round, status__in=PUBLIC_STATUSES).select_related(
        "area", "theme", "author"
    )
    if area is not None:
        qs = qs.filter(area=area)
    if theme is not None:
        qs = qs.filter(theme=theme)
    if status:
        qs = qs.filter(status=status)
    if q:
        qs = qs.filter(Q(title__icontains=q) | Q(description__icontains=q))
    return qs.order_by("area__name", "-support_count", "title")


def shortlist(*, round: Round, area: Any = None) -> QuerySet[Proposal]:
    """What goes on the ballot: feasible, visible proposals."""
    qs = Proposal.objects.filter(round=round, status=ProposalStatus.FEASIBLE, hidden=False)
    if area is not None:
        qs = qs.filter(area=area)
    return qs.select_related("area", "theme").order_by("title")


def translations_for(
    *, proposal_ids: Iterable[int], language: str
) -> dict[int, ProposalTranslation]:
    """Managers' translations of these proposals into one language, by proposal id."""
    return {
        t.proposal_id: t
        for t in ProposalTranslation.objects.filter(
            proposal_id__in=list(proposal_ids), language=language
        )
    }


def review_queue(*, round: Round, area: Any) -> QuerySet[Proposal]:
    return (
        Proposal.objects.filter(round=round, area=area, status=ProposalStatus.SUBMITTED)
        .select_related("theme", "author")
        .order_by("submitted_at")
    )


def shortlisted_for_review() -> Q:
    """Proposals that go forward to review: all of them, or with a support threshold those
    with at least that many supports (CONSUL's pre-selection). For a query on proposals."""
    return Q(round__support_threshold__isnull=True) | Q(
        support_count__gte=F("round__support_threshold")
    )


def review_shortlist(*, round: Round, area: Any) -> tuple[list[Proposal], list[Proposal]]:
    """The area's proposals waiting for review, split into the shortlist that goes forward
    (most supported first when the round has a threshold) and those below the threshold."""
    queue = review_queue(round=round, area=area)
    if round.support_threshold is None:
        return list(queue), []
    ranked = sorted(queue, key=lambda p: -p.support_count)
    threshold = round.support_threshold
    return (
        [p for p in ranked if p.support_count >= threshold],
        [p for p in ranked if p.support_count < threshold],
    )


def review_counts(*, round: Round) -> dict[int, dict[str, int]]:
    """Per area: proposals awaiting review and already decided."""
    rows = (
        Proposal.objects.filter(round=round)
        .exclude(status=ProposalStatus.DRAFT)
        .values("area_id")
        .annotate(
            waiting=Count("id", filter=Q(status=ProposalStatus.SUBMITTED)),
            decided=Count("id", filter=~Q(status=ProposalStatus.SUBMITTED)),
        )
    )
    return {r["area_id"]: {"waiting": r["waiting"], "decided": r["decided"]} for r in rows}


def audit_for_round(*, round: Round) -> QuerySet[AuditEntry]:
    return AuditEntry.objects.filter(Q(round=round) | Q(proposal__round=round)).select_related(
        "actor", "proposal", "area"
    )


def theme_priorities(*, round: Round) -> dict[int, dict[int, int]]:
    """Per area, per theme: the ranking's points summed over the area's residents.

    Points per position come from the round (default 1st = 4, 2nd = 3, 3rd = 2, 4th = 1). Only
    rankings by residents still checked as living in the area count.
    """
    from pb.split.services import DEFAULT_PRIORITY_POINTS

    points = list(round.priority_points or DEFAULT_PRIORITY_POINTS)
    totals: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    rows = (
        # Only checked residents' rankings count (a declined or changed home area drops them).
        ThemeRanking.objects.filter(
            round=round, user__profile__verified=True, user__profile__home_area=F("area")
        )
        .values("area_id", "theme_id", "position")
        .annotate(n=Count("id"))
    )
    for row in rows:
        position = row["position"]
        if 1 <= position <= len(points):
            totals[row["area_id"]][row["theme_id"]] += points[position - 1] * row["n"]
    return {a: dict(t) for a, t in totals.items()}


def round_list_for_event_staff(*, user: Actor) -> QuerySet[Round]:
    """Rounds whose kiosk, paper or decision-day desks this person runs now: event staff (for
    any round) and managers, in the phases where those desks are used."""
    if not rules.can_run_events(user) and not rules.is_admin(user):
        return Round.objects.none()
    rounds = Round.objects.filter(phase__in=EVENT_PHASES)
    if not (rules.is_admin(user) or rules.has_role(user, Role.EVENT_STAFF)):
        rounds = rounds.filter(pk__in=round_list_for_manager(user=user).values("pk"))
    return rounds.order_by("name")


def manager_queues(*, user: Actor) -> list[dict[str, Any]]:
    """Per round this person manages: proposals waiting for their review (in the areas they
    manage) and paper ballots waiting for a decision. Two queries, whatever the number of
    rounds."""
    from pb.voting.models import PaperBallot, PaperStatus

    rounds = list(round_list_for_manager(user=user).order_by("name"))
    if not rounds:
        return []
    waiting_q = Proposal.objects.filter(
        shortlisted_for_review(), round__in=rounds, status=ProposalStatus.SUBMITTED
    )
    if rules.is_signed_in(user) and not rules.is_admin(user):
        mine = user.managed_areas.all()
        waiting_q = waiting_q.filter(Q(area__in=mine) | Q(area__parent__in=mine))
    waiting = dict(waiting_q.values_list("round_id").annotate(n=Count("id")).order_by())
    papers = dict(
        PaperBallot.objects.filter(round__in=rounds, status=PaperStatus.MISMATCH)
        .values_list("round_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    return [
        {"round": r, "waiting": waiting.get(r.pk, 0), "papers": papers.get(r.pk, 0)} for r in rounds
    ]


def proposal_outcomes(*, round: Round) -> dict[int, dict[str, Any]]:
    """Once a round's results are out: each counted proposal's outcome, ``{"funded": bool,
    "sentence": str}``, the sentence in the counting engine's own words ("Chosen 2nd, with 32
    votes." or why not), or why the second pass across areas funded it after all. Empty before
    results. One query: the newest count of each area."""
    if not has_results(round.phase):
        return {}
    outcomes: dict[int, dict[str, Any]] = {}
    seen: set[int | None] = set()
    counts: list[tuple[str, CountResult]] = []
    for tally in (
        Tally.objects.filter(round=round)
        .select_related("area")
        .only("area_id", "area__name", "outcome")
        .order_by("-created_at", "-id")
    ):
        if tally.area_id in seen:
            continue
        seen.add(tally.area_id)
        result = tally_result(tally)
        counts.append((tally.area.name if tally.area else round.name, result))
        for project in result.projects:
            if project.id.isdigit():
                outcomes[int(project.id)] = {
                    "funded": project.funded,
                    "sentence": project_sentence(project),
                }
    if round.style == RoundStyle.CITY and round.unspent_money == UnspentMoney.SECOND_PASS:
        for extra in unspent_money(counts, Policy.SECOND_PASS).funded:
            if extra.id.isdigit():
                outcomes[int(extra.id)] = {
                    "funded": True,
                    "sentence": second_pass_sentence(extra),
                }
    return outcomes


def proposal_outcomes_for(proposals: Any) -> dict[int, dict[str, Any]]:
    """Outcomes of proposals from several rounds (a person's dashboard), one count per round."""
    by_round: dict[int, Round] = {}
    for p in proposals:
        by_round.setdefault(p.round_id, p.round)
    outcomes: dict[int, dict[str, Any]] = {}
    for round_ in by_round.values():
        outcomes.update(proposal_outcomes(round=round_))
    return outcomes


def comment_threads(*, proposal: Proposal, user: Actor | None = None) -> list[Comment]:
    """A proposal's top-level comments, oldest first, each with its replies (``thread``) and
    whether ``user`` has flagged it (``flagged``): one level of replies, two queries."""
    comments = list(Comment.objects.filter(proposal=proposal).select_related("author"))
    flagged: set[int] = set()
    if user is not None and user.is_authenticated:
        flagged = set(
            CommentFlag.objects.filter(comment__proposal=proposal, user=user).values_list(
                "comment_id", flat=True
            )
        )
    replies: dict[int, list[Comment]] = defaultdict(list)
    for c in comments:
        c.flagged = c.pk in flagged  # type: ignore[attr-defined]
        if c.parent_id is not None:
            replies[c.parent_id].append(c)
    top = [c for c in comments if c.parent_id is None]
    for c in top:
        c.thread = replies.get(c.pk, [])  # type: ignore[attr-defined]
    return top


def flagged_comments_for(*, user: Actor) -> list[Comment]:
    """Flagged comments not yet hidden, on proposals in the areas ``user`` manages, most flagged
    first: a manager's moderation queue."""
    if not rules.manages_any_area(user):
        return []
    candidates = (
        Comment.objects.filter(flag_count__gt=0, hidden=False)
        .select_related("proposal__area", "proposal__round", "author")
        .order_by("-flag_count", "created_at")
    )
    return [c for c in candidates if rules.manages_area(user, c.proposal.area)]


def comment_counts(*, round: Round) -> dict[int, int]:
    """Comments a reader can see, per proposal of ``round``: one query for a whole list."""
    rows = (
        Comment.objects.filter(proposal__round=round, hidden=False)
        .values("proposal_id")
        .annotate(n=Count("pk"))
    )
    return {row["proposal_id"]: row["n"] for row in rows}


#: The manual check offers at most this many residents on the register for one account.
REGISTER_CANDIDATES = 5


def register_candidates(*, actor: Actor, profiles: Iterable[Any]) -> dict[int, list[RegisterEntry]]:
    """For each waiting account (a ``Profile``), the residents on the register it may be when
    bulk matching could not tell: linked to no account, in its home area (or the ward around
    it, or a neighbourhood in it), on a register ``actor`` keeps, born the same year, and with
    the same postcode or a word of the name in common (case and spaces ignored); at most
    ``REGISTER_CANDIDATES`` each, by name."""
    waiting = [p for p in profiles if p.birth_year and p.home_area_id]
    if not waiting:
        return {}
    homes = {p.home_area_id for p in waiting}
    near: dict[int, set[int]] = {h: {h} for h in homes}
    for area_id, parent_id in Area.objects.filter(
        Q(pk__in=homes) | Q(parent_id__in=homes)
    ).values_list("pk", "parent_id"):
        if area_id in near and parent_id:
            near[area_id].add(parent_id)
        if parent_id in near:
            near[parent_id].add(area_id)
    pairs = Q()
    for p in waiting:
        pairs |= Q(area_id__in=near[p.home_area_id], birth_year=p.birth_year)
    entries = list(
        RegisterEntry.objects.filter(pairs, profile__isnull=True)
        .select_related("area")
        .order_by("name", "postcode", "pk")
    )
    keeps: dict[int, bool] = {}
    found: dict[int, list[RegisterEntry]] = {}
    for p in waiting:
        words = set(normalise_name(p.user.display_name).split())
        postcode = normalise_postcode(p.postcode or "")
        mine = []
        for e in entries:
            if e.birth_year != p.birth_year or e.area_id not in near[p.home_area_id]:
                continue
            if not (
                (postcode and normalise_postcode(e.postcode) == postcode)
                or words & set(normalise_name(e.name).split())
            ):
                continue
            if e.area_id not in keeps:
                keeps[e.area_id] = pb_rules.can_keep_register(actor, e.area)
            if keeps[e.area_id]:
                mine.append(e)
            if len(mine) == REGISTER_CANDIDATES:
                break
        if mine:
            found[p.pk] = mine
    return found

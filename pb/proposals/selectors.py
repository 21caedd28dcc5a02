"""Reads for proposals: lists, the review queue and shortlist, translations, outcomes once a
round is counted, and comments. Views and the API call these, never raw queries."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.db.models import Count, F, Q, QuerySet

from backend.accounts import rules
from backend.accounts.models import Actor
from pb.counting.models import Tally
from pb.counting.result import CountResult
from pb.counting.selectors import tally_result
from pb.counting.unspent import Policy, unspent_money
from pb.counting.wording import project_sentence, second_pass_sentence
from pb.phases import has_results
from pb.proposals.models import (
    Comment,
    CommentFlag,
    Proposal,
    ProposalStatus,
    ProposalTranslation,
    Support,
)
from pb.rounds.models import Round, RoundStyle, UnspentMoney

PUBLIC_STATUSES = [
    ProposalStatus.SUBMITTED,
    ProposalStatus.FEASIBLE,
    ProposalStatus.NOT_FEASIBLE,
    ProposalStatus.MERGED,
    ProposalStatus.WITHDRAWN,
]


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

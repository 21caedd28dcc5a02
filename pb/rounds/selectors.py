"""Reads for rounds: the one round fetch (``get_visible_round``) and the lists of rounds each
person sees. Views and the API call these, never raw queries."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from backend.accounts import rules
from backend.accounts.models import Actor, Role
from backend.errors import Missing
from pb import rules as pb_rules
from pb.phases import EVENT_PHASES, Phase
from pb.proposals.models import (
    Proposal,
    ProposalStatus,
)
from pb.proposals.selectors import shortlisted_for_review
from pb.rounds.models import Round


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

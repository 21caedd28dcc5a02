"""The decision day: managers open and close the vote in the hall; event staff reveal results."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import Actor
from backend.errors import Conflict, DomainError, NotAllowed
from pb.models import AuditAction
from pb.phases import Action, Phase, allows
from pb.rounds.models import Round, RoundStyle
from pb.rounds.services import round_advance_phase
from pb.services.audit import audit
from pb.voting import rules
from pb.voting.models import DecisionDay
from pb.voting.selectors import forget_turnout, reveal_rows


def _decision_round(actor: Actor, round_: Round, *, reveal: bool = False) -> DecisionDay:
    if round_.style != RoundStyle.DECISION_DAY:
        raise DomainError(_("This round is not a decision day."))
    if reveal:
        # Reading out the results is the event team's job on the night, as in Poulton.
        if not rules.can_open_event_desk(actor, round_):
            raise NotAllowed(_("Only the event staff and the round's managers reveal results."))
    elif not rules.can_open_and_close(actor, round_):
        raise NotAllowed(_("Only the round's owner opens and closes the vote."))
    day, _created = DecisionDay.objects.get_or_create(round=round_)
    return day


def decision_day_open(*, actor: Actor, round: Round) -> DecisionDay:
    """Open the vote in the hall: the round moves to voting (through the phase service)."""
    day = _decision_round(actor, round)
    if Phase(round.phase) != Phase.VOTING:
        round_advance_phase(
            actor=actor, round=round, to_phase=Phase.VOTING, reason=_("Decision day: vote opened")
        )
    day.opened_at = day.opened_at or timezone.now()
    day.save(update_fields=["opened_at"])
    return day


def decision_day_close(*, actor: Actor, round: Round) -> DecisionDay:
    """Close the vote; moving the round to counting starts the count
    (``pb.counting.tasks.tally_round``)."""
    day = _decision_round(actor, round)
    if not allows(round.phase, Action.VOTE):
        raise Conflict(_("The vote is not open."))
    round_advance_phase(
        actor=actor, round=round, to_phase=Phase.COUNTING, reason=_("Decision day: vote closed")
    )
    day.closed_at = timezone.now()
    day.save(update_fields=["closed_at"])
    forget_turnout(round_id=round.pk)
    return day


def decision_day_reveal_next(*, actor: Actor, round: Round) -> DecisionDay:
    """Show one more bid on the results screen, in rank order: the top-scoring bid first; never
    more than the stored count has bids."""
    day = _decision_round(actor, round, reveal=True)
    if day.closed_at is None:
        raise Conflict(_("Close the vote before revealing the results."))
    total = len(reveal_rows(round=round) or [])
    with transaction.atomic():
        locked = DecisionDay.objects.select_for_update().get(pk=day.pk)
        locked.revealed = min(locked.revealed + 1, total)
        locked.save(update_fields=["revealed"])
        audit(
            actor=actor,
            action=AuditAction.VOTING_REVEAL,
            round=round,
            details={"revealed": locked.revealed},
        )
    return locked

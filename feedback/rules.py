"""Who may read and run outcome feedback, built on ``backend.accounts.rules``."""

from __future__ import annotations

from backend.accounts import rules as base
from backend.accounts.models import Actor
from pb import rules as pb_rules
from pb.proposals.models import Proposal
from pb.rounds.models import Round


def can_read_report(user: Actor, round_: Round) -> bool:
    """Admins, the round's managers, and councillors for at least one of its areas."""
    if base.is_admin(user):
        return True
    return any(
        base.manages_area(user, a) or base.represents_area(user, a) for a in round_.areas.all()
    )


def can_manage_outcome(user: Actor, round_: Round) -> bool:
    return pb_rules.can_manage_round(user, round_)


def can_record_delivery(user: Actor, proposal: Proposal) -> bool:
    return base.manages_area(user, proposal.area)

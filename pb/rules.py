"""Permission predicates for rounds and proposals, built on ``backend.accounts.rules``.

These answer *who*; ``pb.phases`` answers *when*. Services check both.
"""

from __future__ import annotations

from typing import Any

from backend.accounts import rules as base
from pb.models import Area, Proposal, Round

is_signed_in = base.is_signed_in


def can_manage_area(user: Any, area: Area) -> bool:
    return base.manages_area(user, area)


def can_manage_round(user: Any, round_: Round) -> bool:
    """Admins, or a manager of at least one of the round's areas."""
    if base.is_admin(user):
        return True
    return any(base.manages_area(user, area) for area in round_.areas.all())


def can_read_audit(user: Any, round_: Round) -> bool:
    return base.is_admin(user) or any(
        base.manages_area(user, a) or base.represents_area(user, a) for a in round_.areas.all()
    )


def is_author(user: Any, proposal: Proposal) -> bool:
    return base.is_signed_in(user) and proposal.author_id == user.pk


def can_review(user: Any, proposal: Proposal) -> bool:
    return base.manages_area(user, proposal.area)


can_moderate = can_review


def can_see_proposal(user: Any, proposal: Proposal) -> bool:
    """Drafts are private to their author and the area's managers."""
    if proposal.status != "draft":
        return True
    return is_author(user, proposal) or base.manages_area(user, proposal.area)

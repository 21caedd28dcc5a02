"""Permission predicates for rounds and proposals, built on ``backend.accounts.rules``.

These answer *who*; ``pb.phases`` answers *when*. Services check both, so a page, an API call
and a socket get the same answer. Three scopes:

- **an area**: a manager of an area (or of the ward around it) acts on that area only: its
  proposals, voter codes, kiosks, paper ballots and their reconciliation, and its line of the
  split;
- **the round as a whole**: its rules, budget, timetable, phases and the split as a whole belong
  to the round's owner (the manager who created it) or an admin;
- **the council**: admins, who may also do what nobody else may (codes while voting is open).
"""

from __future__ import annotations

from backend.accounts import rules as base
from backend.accounts.models import Actor, Role, User
from pb.areas.models import Area
from pb.phases import is_public
from pb.proposals.models import Comment, Proposal, ProposalStatus
from pb.rounds.models import Round

is_signed_in = base.is_signed_in
is_admin = base.is_admin


def can_manage_area(user: Actor, area: Area) -> bool:
    return base.manages_area(user, area)


def owns_round(user: Actor, round_: Round) -> bool:
    """Admins, or the manager who created the round (while they are still a manager)."""
    if base.is_admin(user):
        return True
    return (
        base.has_role(user, Role.MANAGER)
        and round_.created_by_id is not None
        and round_.created_by_id == user.pk
    )


def can_manage_round(user: Actor, round_: Round) -> bool:
    """May open the round's staff pages: its owner, or a manager of at least one of its areas.
    What they may *do* there is narrower: see ``can_change_round`` and ``can_act_in_area``."""
    if owns_round(user, round_):
        return True
    return any(base.manages_area(user, area) for area in round_.areas.all())


def can_change_round(user: Actor, round_: Round) -> bool:
    """Round-wide settings: rules, budget, eligibility, timetable, phases, the split as a whole
    and publishing it, opening and closing a decision day."""
    return owns_round(user, round_)


def in_round(round_: Round, area: Area | None) -> bool:
    return area is not None and round_.round_areas.filter(area=area).exists()


def can_act_in_area(user: Actor, round_: Round, area: Area | None) -> bool:
    """A staff action on one area of a round: the area must take part and the person manage it."""
    return in_round(round_, area) and base.manages_area(user, area)  # type: ignore[arg-type]


def can_override_split(user: Actor, round_: Round, area: Area) -> bool:
    """One area's line of the split: its managers, or the round's owner."""
    return in_round(round_, area) and (owns_round(user, round_) or base.manages_area(user, area))


def can_see_round(user: Actor, round_: Round) -> bool:
    """A round being prepared is seen only by those who manage it; any other by everyone."""
    return is_public(round_.phase) or can_manage_round(user, round_)


def can_read_audit(user: Actor, round_: Round) -> bool:
    return owns_round(user, round_) or any(
        base.manages_area(user, a) or base.represents_area(user, a) for a in round_.areas.all()
    )


def is_author(user: Actor, proposal: Proposal) -> bool:
    return base.is_signed_in(user) and proposal.author_id == user.pk


def can_review(user: Actor, proposal: Proposal) -> bool:
    return base.manages_area(user, proposal.area)


can_moderate = can_review


def can_see_proposal(user: Actor, proposal: Proposal) -> bool:
    """Drafts are private to their author and the area's managers."""
    if proposal.status != ProposalStatus.DRAFT:
        return True
    return is_author(user, proposal) or base.manages_area(user, proposal.area)


def is_checked_resident(user: Actor, area: Area | None = None) -> bool:
    """Signed in, with a home area staff have checked (and, given ``area``, inside it)."""
    if not base.is_signed_in(user):
        return False
    profile = getattr(user, "profile", None)
    if profile is None or not profile.verified or profile.home_area_id is None:
        return False
    if area is None:
        return True
    return bool(profile.home_area.lies_within(area.pk))


def can_check_resident(user: Actor, resident: User, area: Area) -> bool:
    """The managers of the resident's home area confirm them; nobody confirms themselves."""
    if base.is_signed_in(user) and user.pk == resident.pk:
        return False
    return base.manages_area(user, area)


def can_keep_register(user: Actor, area: Area) -> bool:
    """Import the register of an area and match accounts against it: its managers (a ward's
    include its neighbourhoods), or an admin for every area."""
    return base.manages_area(user, area)


def keeps_any_register(user: Actor) -> bool:
    return base.manages_any_area(user)


def can_comment(user: Actor) -> bool:
    """Checked residents write comments on proposals (the phase is ``pb.phases``' answer)."""
    return is_checked_resident(user)


def can_flag_comment(user: Actor) -> bool:
    return base.is_signed_in(user)


def can_moderate_comment(user: Actor, comment: Comment) -> bool:
    """The managers of the proposal's area hide comments, as they hide proposals."""
    return can_moderate(user, comment.proposal)

"""Who may run the voting channels. ``pb.phases`` says *when*; services check both.

Every staff action here is on one area of a round (``pb.rules.can_act_in_area``): event staff
work at any event, a manager only in the areas they manage. Settling differing paper ballots
and minting voter codes while voting is open take more than that.
"""

from __future__ import annotations

from backend.accounts import rules as base
from backend.accounts.models import Actor, Role
from pb import rules as pb_rules
from pb.areas.models import Area
from pb.phases import Action, allows
from pb.rounds.models import Round


def can_open_event_desk(user: Actor, round_: Round) -> bool:
    """May open the kiosk and paper desks at all: event staff, or one of the round's managers."""
    return base.has_role(user, Role.EVENT_STAFF) or pb_rules.can_manage_round(user, round_)


def can_run_event(user: Actor, round_: Round, area: Area | None) -> bool:
    """Unlock or lock a kiosk and key paper ballots for one area: event staff (anywhere, the
    area taking part) and that area's managers."""
    if not pb_rules.in_round(round_, area):
        return False
    return base.has_role(user, Role.EVENT_STAFF) or pb_rules.can_act_in_area(user, round_, area)


def can_open_voter_codes(user: Actor, round_: Round) -> bool:
    """May open the voter codes page: a manager of one of the round's areas, or its owner."""
    return pb_rules.can_manage_round(user, round_)


def codes_need_area(round_: Round) -> bool:
    """In a round of several areas a code without an area would vote in any of them."""
    return round_.round_areas.count() > 1


def codes_need_admin(round_: Round) -> bool:
    """While voting is open a new code is a new vote: only an admin makes one, with a reason."""
    return allows(round_.phase, Action.VOTE)


def can_issue_voter_codes(user: Actor, round_: Round, area: Area | None) -> bool:
    """Codes for one area of the round: its managers (admins only while voting is open). An
    area-less code, allowed only in a single-area round, needs the round's owner."""
    if codes_need_admin(round_) and not base.is_admin(user):
        return False
    if area is None:
        return not codes_need_area(round_) and pb_rules.can_manage_round(user, round_)
    return pb_rules.can_act_in_area(user, round_, area)


def can_open_reconciliation(user: Actor, round_: Round) -> bool:
    return pb_rules.can_manage_round(user, round_)


def can_reconcile(user: Actor, round_: Round, areas: list[Area], keyers: list[int]) -> bool:
    """A manager of every area the keyings name settles a differing paper ballot, and never one
    who keyed it: two people look at every disputed paper."""
    if not base.is_signed_in(user) or user.pk in keyers:
        return False
    return bool(areas) and all(pb_rules.can_act_in_area(user, round_, a) for a in areas)


def can_open_and_close(user: Actor, round_: Round) -> bool:
    """Opening and closing a decision day moves the whole round: its owner or an admin."""
    return pb_rules.can_change_round(user, round_)

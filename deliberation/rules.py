"""Who may read, take part in and run a room, built on ``backend.accounts.rules``.

Pages, the live protocol and the services all ask these, so a rule changes in one place.
``pb.phases`` still answers *when*: contributions need a phase that allows comments.
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser

from backend.accounts import rules as base
from backend.accounts.models import Actor
from deliberation.models import Mute, Room, RoomState
from pb import rules as pb_rules
from pb.phases import Action, allows, is_public
from pb.proposals.models import Proposal
from pb.rounds.models import Round

is_signed_in = base.is_signed_in


def can_read_room(user: Actor, room: Room) -> bool:
    """Anyone may read a room of a published round; a draft round's rooms are for its staff."""
    if is_public(room.round.phase):
        return True
    return can_run_room(user, room)


def can_create_room(user: Actor, round_: Round) -> bool:
    return base.can_facilitate(user) or pb_rules.can_manage_round(user, round_)


def can_run_room(user: Actor, room: Room) -> bool:
    """Admins, the room's facilitators and the managers of its round run the room."""
    if not base.is_signed_in(user):
        return False
    if base.is_admin(user):
        return True
    if room.facilitators.filter(pk=user.pk).exists():
        return True
    return pb_rules.can_manage_round(user, room.round)


def is_muted(user: Actor, room: Room) -> bool:
    return base.is_signed_in(user) and Mute.objects.filter(room=room, user=user).exists()


def is_checked(user: Actor) -> bool:
    """The council has checked the person's home area and age (``Profile.verified``): declaring
    an area is not enough to speak for it."""
    return pb_rules.is_checked_resident(user)


def is_eligible(user: Actor, room: Room) -> bool:
    """Signed in, not muted here and, in an area's room, a checked resident of that area."""
    if not base.is_signed_in(user):
        return False
    if can_run_room(user, room):
        return True
    if is_muted(user, room):
        return False
    return room.area is None or pb_rules.is_checked_resident(user, room.area)


def needs_check(user: Actor, room: Room) -> bool:
    """A signed-in person who may only read an area's room until the council checks where they
    live (they are told how to get checked)."""
    return (
        room.area is not None
        and base.is_signed_in(user)
        and not is_checked(user)
        and not can_run_room(user, room)
    )


def can_mention_proposal(proposal: Proposal) -> bool:
    """A proposal a contribution may name: every reader of a room sees its title, so it must be
    one anybody may see, not a draft (``pb.rules.can_see_proposal``) and not hidden."""
    return not proposal.hidden and pb_rules.can_see_proposal(AnonymousUser(), proposal)


def can_take_part(user: Actor, room: Room) -> bool:
    """Speak, react, raise a hand, answer a poll: the room is open, its round's phase allows
    comments and the person is eligible."""
    return (
        room.state == RoomState.OPEN
        and allows(room.round.phase, Action.COMMENT)
        and is_eligible(user, room)
    )

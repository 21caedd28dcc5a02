"""Ticking the name: event staff find a resident on the register and mark them before handing
over a paper ballot or a kiosk code, so one person votes once whatever the channel.

A tick records *that* the resident voted, never *how*:

- At a **paper** desk the tick is a ``Participation`` of the resident (``desk_tick``), written on
  its own. The paper they fill in is keyed later, by serial, and writes its own participation
  without a name; no column ties the keyed paper to the tick (turnout counts the keyed papers,
  ``Participation.objects.ballots()``). The order of keying could, where it follows the order
  of ticking, until the count deletes the keyings (``paper.paper_keyings_clear``).
- At a **kiosk** desk the tick makes a one-time code for the resident (``VoterCode.at_desk``),
  shown once to the staff member to hand over. Casting with it at the kiosk writes the
  resident's participation, exactly as a letter's code does, so sealing separates it from the
  ballot as for every cast (docs/secrecy.md).

Finding the resident first (``desk_search``) is limited per member of staff
(``pb.voting.throttles.DeskSearches``) and recorded in the audit log, without the words typed.

Two desks ticking the same person at once cannot both succeed: the unique constraints on
``Participation`` (round and register entry) and on desk codes (round and register entry)
decide, with no check-then-act. A resident who has voted on any channel is refused with what
actually happened.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from backend.accounts.models import Actor
from backend.accounts.rules import user_or_none
from backend.errors import Conflict, DomainError, NotAllowed
from pb.models import AuditAction
from pb.phases import Action, allows
from pb.rounds.models import Round, RoundArea
from pb.services.audit import audit
from pb.services.guards import require_phase
from pb.services.register import normalise_postcode
from pb.voting import rules
from pb.voting.desk_token import desk_token_entry_id
from pb.voting.models import Channel, Participation, RegisterEntry, VoterCode
from pb.voting.selectors import (
    DESK_SEARCH_LIMIT,
    DeskEntry,
    desk_name_query,
    desk_register_search,
)
from pb.voting.services.casting import resident_voted, round_area_for_home
from pb.voting.services.codes import VOTER_CODE_LENGTH, format_code, random_code, voter_code_hash
from pb.voting.throttles import DeskSearches

DESK_CHANNELS = (Channel.PAPER, Channel.KIOSK)


@dataclass(frozen=True)
class Tick:
    """What the desk tells the staff member: the area the resident votes in and, at a kiosk
    desk, the code to hand them (shown once, never stored)."""

    entry: RegisterEntry
    area_id: int
    channel: str
    code: str = ""


def ticked_at_kiosk() -> Conflict:
    return Conflict(
        _(
            "This resident was ticked at a kiosk desk already and given a code: they vote with "
            "that code. A vote has not been cast with it yet."
        ),
        code="already_ticked",
    )


class TooManySearches(DomainError):
    """A member of staff has made as many register searches as they may for now (429)."""

    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: str) -> None:
        super().__init__(message, field="name")
        #: Seconds to wait, for the ``Retry-After`` header.
        self.retry_after = retry_after


def desk_search(
    *, actor: Actor, round: Round, name: str, postcode: str = "", birth_year: int | None = None
) -> list[DeskEntry]:
    """Find a resident on the register at a desk (``pb.voting.selectors.desk_register_search``),
    for a member of staff, at most ``settings.DESK_SEARCHES`` times in a sliding window.

    Refusals, each on a field and before the register is read: a name with no whole word of two
    letters or more (``name``), no postcode and no year of birth (``postcode``), and a member of
    staff past their limit (``TooManySearches``, 429; not counted). A search that matches more
    than ``DESK_SEARCH_LIMIT`` residents shows none of them and asks for more (``name``,
    ``too_many``): a search should find one person, not a page of the register.

    Every search that reads the register (too broad ones too) writes an audit entry: who, when
    (the entry's time), the round, how many residents it showed and what it was narrowed by.
    Never the words typed or who was found: the log would otherwise be a list of the residents
    staff looked up, readable by everyone who reads the audit log. The first refusal in a window
    is recorded too. Outside voting, and for someone signed out, it finds nobody and records
    nothing, as the selector does.
    """
    if desk_name_query(name) is None:
        raise DomainError(
            _("Type at least one whole word of the name, of two letters or more."),
            field="name",
            code="name_too_short",
        )
    if not normalise_postcode(postcode) and not birth_year:
        raise DomainError(
            _("Give the postcode or the year of birth as well as the name."), field="postcode"
        )
    staff = user_or_none(actor)
    if staff is None or not allows(round.phase, Action.VOTE):
        return []
    limit = DeskSearches(user_id=staff.pk)
    if not limit.take():
        minutes = max(1, -(-int(limit.retry_after()) // 60))
        if limit.first_refusal():
            audit(
                actor=actor,
                action=AuditAction.VOTING_DESK_SEARCH_LIMITED,
                details={"round": round.pk, "limit": limit.limit, "seconds": limit.seconds},
            )
        raise TooManySearches(
            ngettext(
                "You have searched the register as often as one member of staff may for now. "
                "Try again in %(n)d minute.",
                "You have searched the register as often as one member of staff may for now. "
                "Try again in %(n)d minutes.",
                minutes,
            )
            % {"n": minutes},
            retry_after=limit.retry_after(),
        )
    found, more = desk_register_search(
        actor=actor, round=round, name=name, postcode=postcode, birth_year=birth_year
    )
    # Not filed under the round (the outcome report lists a round's audit log): as for ticks.
    audit(
        actor=actor,
        action=AuditAction.VOTING_DESK_SEARCH,
        details={
            "round": round.pk,
            "shown": 0 if more else len(found),
            "too_many": more,
            "by": [k for k, v in (("postcode", postcode.strip()), ("birth_year", birth_year)) if v],
        },
    )
    if more:
        raise DomainError(
            ngettext(
                "More than %(n)d resident matches, too many to show. Add the postcode and the "
                "year of birth, or more of the name.",
                "More than %(n)d residents match, too many to show. Add the postcode and the "
                "year of birth, or more of the name.",
                DESK_SEARCH_LIMIT,
            )
            % {"n": DESK_SEARCH_LIMIT},
            field="name",
            code="too_many",
        )
    return found


def round_area_of(round_: Round, entry: RegisterEntry) -> int | None:
    """The round's area a resident on the register votes in (theirs or the ward around it)."""
    taking_part = set(RoundArea.objects.filter(round=round_).values_list("area_id", flat=True))
    area_id = round_area_for_home(taking_part, entry.area)
    return area_id if area_id in taking_part else None


def desk_tick_by_token(*, actor: Actor, round: Round, token: str, channel: str) -> Tick:
    """Tick the resident a desk search signed ``token`` for (``pb.voting.desk_token``).

    A raw register id, a forged or expired token, or one made for another member of staff or
    another round is refused with ``DomainError`` (``bad_token``) that names nobody: it says
    nothing of the resident's area or whether they voted. Otherwise as ``desk_tick``.
    """
    entry_id = desk_token_entry_id(round_id=round.pk, user_id=actor.pk, token=token)
    entry = (
        RegisterEntry.objects.select_related("area").filter(pk=entry_id).first()
        if entry_id is not None
        else None
    )
    if entry is None:
        raise DomainError(
            _(
                "This tick button is out of date or was not made for you. Find the resident "
                "again and tick them from the new search."
            ),
            code="bad_token",
        )
    return desk_tick(actor=actor, round=round, entry=entry, channel=channel)


def desk_tick(*, actor: Actor, round: Round, entry: RegisterEntry, channel: str) -> Tick:
    """Tick ``entry`` at a paper or kiosk desk of ``round``; see the module's note.

    Refusals: ``NotAllowed`` outside voting or for someone who does not run the area's desks;
    ``DomainError`` for a channel that is not a desk or a resident whose area is not in the
    round; ``Conflict`` (``resident_already_voted``) when a vote is in for the resident on any
    channel, or (``already_ticked``) when a kiosk desk has already given them a code.
    """
    require_phase(round, Action.VOTE, _("Names are ticked only while voting is open."))
    if channel not in DESK_CHANNELS:
        raise DomainError(_("Choose a paper ballot or a kiosk."), field="channel")
    area_id = round_area_of(round, entry)
    if area_id is None:
        raise DomainError(
            _("This resident lives in %(area)s, which is not taking part in this round.")
            % {"area": entry.area.name},
            code="wrong_area",
        )
    area = entry.area if entry.area_id == area_id else round.areas.get(pk=area_id)
    if not rules.can_run_event(actor, round, area):
        raise NotAllowed(_("Only event staff and the area's managers tick names at its desks."))
    # Friendly early answers; the constraints below decide when two desks race.
    if Participation.objects.filter(round=round, register_entry=entry).exists():
        raise resident_voted()
    if VoterCode.objects.filter(round=round, register_entry=entry, at_desk=True).exists():
        raise ticked_at_kiosk()
    today = timezone.localdate()
    code = ""
    try:
        with transaction.atomic():
            if channel == Channel.PAPER:
                Participation.objects.create(
                    round=round,
                    area_id=area_id,
                    channel=Channel.PAPER,
                    voted_on=today,
                    register_entry=entry,
                    desk_tick=True,
                )
            else:
                code = random_code(VOTER_CODE_LENGTH)
                VoterCode.objects.create(
                    round=round,
                    area_id=area_id,
                    code_hash=voter_code_hash(code),
                    register_entry=entry,
                    at_desk=True,
                )
            # Not filed under the round: the outcome report lists a round's audit log, and
            # who voted is no part of it. The record says which staff member ticked whom.
            audit(
                actor=actor,
                action=AuditAction.VOTING_DESK_TICK,
                area=area,
                details={"round": round.pk, "register_entry": entry.pk, "channel": channel},
            )
    except IntegrityError as exc:  # another desk ticked them a moment ago
        raise (resident_voted() if channel == Channel.PAPER else ticked_at_kiosk()) from exc
    return Tick(
        entry=entry, area_id=area_id, channel=channel, code=format_code(code) if code else ""
    )

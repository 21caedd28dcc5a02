"""Writes for rooms: every change is logged as a ``RoomEvent`` and broadcast after commit.

Each public function here locks the room row (``select_for_update``), checks the permission
predicates (``deliberation.rules``) and the phase table, changes the facts, and appends one
event with the next sequence number, all in one transaction. The broadcast to the room's group
is registered with ``transaction.on_commit``, so a client never sees an event that was rolled
back, and events reach the channel layer in sequence order (the row lock serialises commits).
Services raise ``backend.errors`` exceptions and change nothing when they refuse.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Count, QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext

from backend.accounts.models import Actor, User
from backend.accounts.rules import signed_in_user
from backend.errors import Conflict, DomainError, NotAllowed, NotFound
from backend.server_loop import running
from deliberation import light, rules
from deliberation.models import (
    TEXT_LIMIT,
    AgendaItem,
    Contribution,
    ContributionKind,
    HandRaise,
    Mute,
    Poll,
    PollOption,
    PollVote,
    Reaction,
    ReactionKind,
    Room,
    RoomEvent,
    RoomState,
)
from deliberation.rights import RoomRights
from deliberation.selectors import event_text, person
from pb.areas.models import Area
from pb.phases import Action, allows
from pb.proposals.models import Proposal
from pb.rounds.models import Round

logger = logging.getLogger(__name__)

#: Contributions a person may make per minute in all rooms together.
SAY_LIMIT_PER_MINUTE = 10
#: Reactions, hands and poll votes per minute: generous, but a stuck key cannot flood a room.
LIGHT_LIMIT_PER_MINUTE = 60
TIMER_MAX_SECONDS = 4 * 60 * 60
#: Cache keys of the rate limits start with this (tests give each test its own).
RATE_KEY_PREFIX = "delib-rate"
#: The rate limits count per slice of this many seconds (60 divides by it).
RATE_SLICE_SECONDS = 10
POLL_MAX_OPTIONS = 10
#: What a resident the council has not checked yet is told in an area's room (frame and page).
CHECK_FIRST = gettext_noop(
    "Only residents the council has checked speak in an area's room; you can follow it here. "
    "To be checked, give your home area and birth year on your profile page: the council "
    "checks them against the electoral register and tells you when it is done."
)


#: The group every process's account watch listens on (see ``account_sockets_close``).
ACCOUNTS_GROUP = "room-accounts"


def group_name(room_id: int) -> str:
    return f"room-{room_id}"


# --- The log --------------------------------------------------------------------------------


def _broadcast(room_id: int, seq: int, text: str, light: bool = False, event: str = "") -> None:
    """Hand the event to the channel layer.

    Called from a consumer's worker thread (``database_sync_to_async``), it schedules the send
    on the server's event loop and returns at once: waiting would hold the one database thread
    of the process behind a loop that is busy fanning out, capping contributions a second.
    Order and completeness do not depend on it; connections re-read the log on any gap.
    ``event`` (the event's kind) tells the hubs whether it can take a right away
    (``deliberation.rights``) without parsing the frame.
    """
    message: dict[str, Any] = {"type": "room.event", "seq": seq, "text": text, "event": event}
    if light:  # reactions in aggregate: the hub does not hold contributions back for them
        message["light"] = True
    _group_send(group_name(room_id), message)


def _group_send(group: str, message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    loop = running()
    if loop is not None:
        future = asyncio.run_coroutine_threadsafe(layer.group_send(group, message), loop)
        future.add_done_callback(_log_failure)
        return
    async_to_sync(layer.group_send)(group, message)


def account_sockets_close(*, user_id: int, session_key: str = "") -> None:
    """Close the live-room sockets of a person who logged out (those of ``session_key``) or
    whose account was closed (all of them), in every server process.

    Called after the fact is committed (the logout signal, ``accounts.events``). If the
    channel layer is down the announcement is lost, so each frame a signed-in socket sends
    also checks the account and session (``consumers._still_signed_in``).
    """
    try:
        _group_send(
            ACCOUNTS_GROUP, {"type": "account.closed", "user": user_id, "session": session_key}
        )
    except Exception:
        logger.warning("Sockets of account %s not told to close", user_id, exc_info=True)


def room_rights_changed(*, round_id: int) -> None:
    """Tell every server with a reader in the round's rooms that rights may have changed
    without an event in the rooms' logs (the round moved to another phase): their hubs forget
    the light-frame checks they kept (``deliberation.rights``). Called after the change has
    committed (``pb.events.round_moved``). If the layer is down the message is lost, and what
    the hubs kept lapses by itself within ``rights.TTL`` seconds."""
    rooms = Room.objects.filter(round_id=round_id).exclude(state=RoomState.CLOSED)
    for room_id in rooms.values_list("pk", flat=True):
        try:
            _group_send(group_name(room_id), {"type": "room.rights"})
        except Exception:
            logger.warning("Room %s not told its rights changed", room_id, exc_info=True)


def _log_failure(future: concurrent.futures.Future[None]) -> None:
    if not future.cancelled() and future.exception() is not None:
        logger.warning("Room event not broadcast: %r", future.exception())


def _emit(room: Room, type_: str, data: dict[str, Any]) -> RoomEvent:
    """Append an event to the log of ``room``, which the caller has locked in this transaction.

    The frame is serialised once here and handed to every connection as text.
    """
    room.last_seq += 1
    Room.objects.filter(pk=room.pk).update(last_seq=room.last_seq)
    event = RoomEvent.objects.create(room=room, seq=room.last_seq, type=type_, data=data)
    text = event_text(event)
    room_id, seq = room.pk, event.seq
    # robust: the event is committed and logged either way; if the layer is down (Redis
    # restarting) clients catch up from the log through last_seq, so the writer must not fail.
    light_event = type_ == "reactions"
    transaction.on_commit(lambda: _broadcast(room_id, seq, text, light_event, type_), robust=True)
    return event


def _lock(room: Room | int) -> Room:
    """The room's row, locked until the end of the current transaction."""
    pk = room if isinstance(room, int) else room.pk
    try:
        return (
            Room.objects.select_for_update(of=("self",)).select_related("round", "area").get(pk=pk)
        )
    except Room.DoesNotExist:
        raise NotFound(_("There is no such room.")) from None


def _require_part(user: Actor, room: Room) -> None:
    if not rules.is_signed_in(user):
        raise NotAllowed(_("Log in to take part in this room."))
    if room.state != RoomState.OPEN:
        raise NotAllowed(_("This room is not open."), code="room_not_open")
    if rules.is_muted(user, room) and not rules.can_run_room(user, room):
        raise NotAllowed(_("A facilitator has muted you in this room."), code="muted")
    if not allows(room.round.phase, Action.COMMENT):
        raise NotAllowed(_("The round's current phase does not take contributions."))
    if not rules.can_take_part(user, room):
        if rules.needs_check(user, room):
            raise NotAllowed(_(CHECK_FIRST), code="not_checked")
        raise NotAllowed(_("Only residents of this room's area may take part."))


def _require_runner(user: Actor, room: Room) -> None:
    if not rules.can_run_room(user, room):
        raise NotAllowed(_("Only the room's facilitators may do that."))


def _require_open(room: Room) -> None:
    if room.state != RoomState.OPEN:
        raise NotAllowed(_("This room is not open."), code="room_not_open")


def _rate_limit(user: Actor, bucket: str, per_minute: int) -> None:
    """At most ``per_minute`` in any 60 seconds per person, counted in the shared cache
    (LocMem or Redis); a refused attempt is not counted.

    Counts are kept per 10-second slice of the clock, and the last seven slices are added up:
    they cover the last 60 seconds wherever in its slice ``now`` falls, so ten contributions at
    10:00:59 leave none for 10:01:00 (the clock minute, used before, let twenty through in two
    seconds). The price: an action may wait up to one slice longer than 60 seconds. Cache
    timeouts run on real time, the slices on ``timezone.now()``: a test's clock moves them.
    """
    slice_ = int(timezone.now().timestamp() // RATE_SLICE_SECONDS)
    keys = [
        f"{RATE_KEY_PREFIX}:{bucket}:{user.pk}:{slice_ - n}"
        for n in range(60 // RATE_SLICE_SECONDS + 1)
    ]
    timeout = 60 + 2 * RATE_SLICE_SECONDS
    try:
        count = _count_in_slices(keys, timeout)
    except Exception:  # the cache (Redis) is down: let people speak rather than stop the room
        logger.warning("Rate limit not checked for %s", keys[0], exc_info=True)
        return
    if count > per_minute:
        try:
            cache.decr(keys[0])
        except Exception:  # unreachable now (or expired): the refusal may stay counted
            logger.warning("Refused attempt left counted in %s", keys[0], exc_info=True)
        raise DomainError(
            _("You are going too fast: at most %(per_minute)s a minute. Try again shortly.")
            % {"per_minute": per_minute},
            code="rate_limited",
        )


def _count_in_slices(keys: list[str], timeout: int) -> int:
    """Add one to the count in ``keys[0]`` and return it plus the counts in the other keys.

    With Redis as the cache, in one round trip (a pipeline of INCR, EXPIRE and MGET on the
    keys Django's cache would use, holding plain integers as Django stores them): this runs for
    every reaction, hand and contribution, and the cache's add, incr and get_many took three."""
    client = light.cache_redis()
    if client is None:
        cache.add(keys[0], 0, timeout=timeout)
        try:
            count = int(cache.incr(keys[0]))
        except ValueError:  # expired between add and incr
            cache.set(keys[0], 1, timeout=timeout)
            count = 1
        return count + sum(int(n) for n in cache.get_many(keys[1:]).values())
    full = [cache.make_key(key) for key in keys]
    pipe = client.pipeline(transaction=False)
    pipe.incr(full[0])
    pipe.expire(full[0], timeout)
    pipe.mget(full[1:])
    count, _expiring, others = pipe.execute()
    return int(count) + sum(int(n) for n in others if n is not None)


def _clean_text(text: Any, *, field: str = "text", limit: int = TEXT_LIMIT) -> str:
    if not isinstance(text, str):
        raise DomainError(_("Write some text."), field=field, code="invalid")
    text = text.strip()
    if not text:
        raise DomainError(_("Write some text."), field=field, code="invalid")
    if len(text) > limit:
        raise DomainError(
            ngettext(
                "Keep it to %(limit)s character (this is %(len)s).",
                "Keep it to %(limit)s characters (this is %(len)s).",
                limit,
            )
            % {"limit": limit, "len": len(text)},
            field=field,
            code="too_long",
        )
    return text


def _waiting_hands(room: Room) -> QuerySet[HandRaise]:
    """The raised hands of the room, first come first: a hand is stored without locking the
    room (``hand_raise``), so one raised as its owner was muted is left out here instead."""
    muted = Mute.objects.filter(room=room).values("user")
    return (
        HandRaise.objects.filter(room=room, lowered_at=None, called_at=None)
        .exclude(user__in=muted)
        .select_related("user")
    )


def _queue(room: Room) -> list[dict[str, Any]]:
    return [person(h.user) for h in _waiting_hands(room)]


# --- Rooms ----------------------------------------------------------------------------------


def room_create(
    *,
    actor: Actor,
    round: Round,
    title: str,
    starts_at: dt.datetime,
    ends_at: dt.datetime | None = None,
    area: Area | None = None,
    proposal: Proposal | None = None,
    agenda: Sequence[str] = (),
    facilitators: Sequence[User] = (),
) -> Room:
    if not rules.can_create_room(actor, round):
        raise NotAllowed(_("Only facilitators and the round's managers may create rooms."))
    title = _clean_text(title, field="title", limit=160)
    if ends_at is not None and ends_at <= starts_at:
        raise DomainError(_("A room must end after it starts."), field="ends_at")
    if proposal is not None and proposal.round_id != round.pk:
        raise DomainError(_("The proposal belongs to another round."), field="proposal")
    if proposal is not None and not rules.can_mention_proposal(proposal):
        raise DomainError(
            _("A room can only be about a proposal everyone may see."), field="proposal"
        )
    if area is not None and not round.areas.filter(pk=area.pk).exists():
        raise DomainError(_("The area does not take part in this round."), field="area")
    with transaction.atomic():
        room = Room.objects.create(
            round=round,
            title=title,
            starts_at=starts_at,
            ends_at=ends_at,
            area=area,
            proposal=proposal,
        )
        room.facilitators.add(
            *facilitators, *([signed_in_user(actor)] if rules.is_signed_in(actor) else [])
        )
        for position, item in enumerate((a.strip() for a in agenda if a.strip()), start=1):
            agenda_item = AgendaItem.objects.create(room=room, position=position, title=item)
            if proposal is not None:
                agenda_item.proposals.add(proposal)
    return room


def room_open(*, room: Room | int, actor: Actor) -> Room:
    with transaction.atomic():
        room = _lock(room)
        _require_runner(actor, room)
        if room.state != RoomState.SCHEDULED:
            raise Conflict(_("This room has already been opened."))
        room.state = RoomState.OPEN
        room.save(update_fields=["state"])
        _emit(room, "opened", {"by": person(actor)})
    return room


def room_close(*, room: Room | int, actor: Actor, summary: str) -> Room:
    """Close the room with a written summary, published on the room and its round's rooms."""
    summary = _clean_text(summary, field="summary", limit=10_000)
    with transaction.atomic():
        room = _lock(room)
        _require_runner(actor, room)
        if room.state == RoomState.CLOSED:
            raise Conflict(_("This room is already closed."))
        room.state = RoomState.CLOSED
        room.summary = summary
        room.closed_at = timezone.now()
        room.timer_ends_at = None
        room.save(update_fields=["state", "summary", "closed_at", "timer_ends_at"])
        open_polls = list(Poll.objects.filter(room=room, closed_at=None))
        for poll in open_polls:
            _close_poll(room, poll)
        # Reactions still waiting for a flush are counted before the close, not after it.
        pending = light.take(room.pk)
        try:
            if pending:
                _apply_light(room, pending)
        except Exception:
            light.give_back(room.pk, pending)
            raise
        HandRaise.objects.filter(room=room, lowered_at=None, called_at=None).update(
            lowered_at=timezone.now()
        )
        _emit(room, "closed", {"summary": summary, "by": person(actor)})
    return room


# --- Contributions --------------------------------------------------------------------------


def contribution_say(
    *,
    room: Room | int,
    actor: Actor,
    kind: str,
    text: Any,
    reply_to: int | None = None,
    proposal: int | None = None,
) -> Contribution:
    """Say something in the room. Arguments for and against must name a proposal of the
    room's round (else the one the contribution replies to, else the room's own proposal)."""
    if kind not in ContributionKind.values:
        raise DomainError(
            _("Choose a message, an argument for or against, or a question."),
            field="kind",
            code="invalid",
        )
    text = _clean_text(text)
    with transaction.atomic():
        room = _lock(room)
        _require_part(actor, room)
        parent = None
        if reply_to is not None:
            parent = Contribution.objects.filter(room=room, pk=reply_to).first()
            if parent is None:
                raise NotFound(_("There is no such contribution to reply to."), field="reply_to")
        # The proposal's row is read under a lock (whichever way it is named): a manager hiding
        # it now either waits for this contribution to commit, and the scrub that follows the
        # hiding finds its title, or has committed, and it is seen hidden. Read unlocked, the
        # title could be logged after the scrub had run, and stay.
        about = None
        if proposal is not None:
            # Whoever reads the room would see the proposal's title: a draft (known to its
            # author and managers only) or a hidden proposal cannot be named, even by them.
            about = _proposal_locked(round=room.round_id, pk=proposal)
            if about is None or not rules.can_mention_proposal(about):
                raise NotFound(_("There is no such proposal in this round."), field="proposal")
        elif parent is not None and parent.proposal_id is not None:
            # A reply is about what it answers: "against" under an argument for a proposal is
            # against that proposal, without naming it again.
            about = _proposal_locked(round=room.round_id, pk=parent.proposal_id)
        elif kind in (ContributionKind.FOR, ContributionKind.AGAINST):
            if room.proposal_id is None:
                raise DomainError(
                    _("Say which proposal this argument is about."),
                    field="proposal",
                    code="invalid",
                )
            about = _proposal_locked(round=room.round_id, pk=room.proposal_id)
        if about is not None and not rules.can_mention_proposal(about):
            raise DomainError(
                _("That proposal has been hidden: name another one."),
                field="proposal",
                code="invalid",
            )
        _rate_limit(actor, "say", SAY_LIMIT_PER_MINUTE)
        contribution = Contribution.objects.create(
            room=room,
            author=signed_in_user(actor),
            kind=kind,
            text=text,
            reply_to=parent,
            proposal=about,
            # The writer's page language (the live protocol activates it for each frame).
            language=_writing_language(),
        )
        _emit(
            room,
            "said",
            {
                "id": contribution.pk,
                "kind": kind,
                "text": text,
                "language": contribution.language,
                "author": person(actor),
                "reply_to": parent.pk if parent else None,
                "proposal": {"id": about.pk, "title": about.title} if about else None,
                "at": contribution.created_at.isoformat(),
            },
        )
    return contribution


def _proposal_locked(*, round: int, pk: int) -> Proposal | None:
    return (
        Proposal.objects.select_for_update(no_key=True, of=("self",))
        .filter(round=round, pk=pk)
        .order_by()
        .first()
    )


def _writing_language() -> str:
    language = translation.get_language() or settings.LANGUAGE_CODE
    return language if language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE


def _visible_contribution(room: Room | int, contribution: int) -> Contribution:
    found = Contribution.objects.filter(room=room, pk=contribution).first()
    if found is None or found.hidden:
        raise NotFound(_("There is no such contribution."), field="contribution")
    return found


def reaction_set(
    *,
    room: Room | int,
    actor: Actor,
    contribution: int,
    reaction: str,
    rights: RoomRights | None = None,
) -> None:
    """Record the person's reaction (reacting again changes it). Nothing is written or sent
    per reaction: the next flush (``light_flush``, a few times a second) stores the room's
    waiting reactions at once and announces the totals in one ``reactions`` event.

    ``rights``, from a live connection's room hub: the checks already made there, so a person
    and contribution found fine before cost no database round trip (``deliberation.rights``).
    """
    if reaction not in ReactionKind.values:
        raise DomainError(
            _("React with agree, disagree or unsure."), field="reaction", code="invalid"
        )
    room_id = room if isinstance(room, int) else room.pk
    _require_light_part(room, actor, rights)
    if rights is None or not rights.is_visible(contribution):
        stamp = rights.stamp() if rights is not None else 0
        target = _visible_contribution(room_id, contribution).pk
        if rights is not None:
            rights.visible(target, stamp)
    else:
        target = contribution
    _rate_limit(actor, "light", LIGHT_LIMIT_PER_MINUTE)
    light.add_reaction(room_id, target, signed_in_user(actor).pk, reaction)
    light.schedule_flush(room_id)


def _room_for_light(room: Room | int) -> Room:
    pk = room if isinstance(room, int) else room.pk
    found = Room.objects.select_related("round", "area").filter(pk=pk).first()
    if found is None:
        raise NotFound(_("There is no such room."))
    return found


def _require_light_part(room: Room | int, actor: Actor, rights: RoomRights | None) -> None:
    """``_require_part`` for a reaction or a hand: from the room's row as it is now (these
    take no lock on it), or from ``rights`` when this person was found allowed there since
    the last change it heard."""
    if rights is not None and rules.is_signed_in(actor) and rights.may(actor.pk):
        return
    stamp = rights.stamp() if rights is not None else 0
    _require_part(actor, _room_for_light(room))
    if rights is not None:
        rights.allow(signed_in_user(actor).pk, stamp)


def light_flush(room_id: int) -> RoomEvent | None:
    """Store the room's waiting reactions and announce them, with the hand queue if it
    changed, as one ``reactions`` event; ``None`` when nothing was waiting.

    Called a few times a second per busy room (``light.schedule_flush``). If it fails (the
    database unreachable) what it took is put back for the next flush.
    """
    pending = light.take(room_id)
    if not pending:
        return None
    try:
        with transaction.atomic():
            room = _lock(room_id)
            return _apply_light(room, pending)
    except NotFound:  # the room was deleted: nothing to store
        return None
    except Exception:
        light.give_back(room_id, pending)
        raise


light.register_flush(light_flush)


def _apply_light(room: Room, pending: light.Pending) -> RoomEvent | None:
    data: dict[str, Any] = {}
    if pending.reactions:
        # A contribution or an account deleted since the click takes its reactions with it.
        contributions = set(
            Contribution.objects.filter(
                room=room, pk__in={c for c, _u in pending.reactions}
            ).values_list("pk", flat=True)
        )
        users = set(
            User.objects.filter(pk__in={u for _c, u in pending.reactions}).values_list(
                "pk", flat=True
            )
        )
        rows = [
            Reaction(contribution_id=c, user_id=u, kind=kind)
            for (c, u), kind in sorted(pending.reactions.items())
            if c in contributions and u in users
        ]
        Reaction.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["contribution", "user"],
            update_fields=["kind"],
        )
        reacted_to = {row.contribution_id for row in rows}
        totals = {c: dict.fromkeys(ReactionKind.values, 0) for c in reacted_to}
        for row in (
            Reaction.objects.filter(contribution__in=totals)
            .values("contribution", "kind")
            .annotate(n=Count("id"))
        ):
            totals[row["contribution"]][row["kind"]] = row["n"]
        if totals:
            data["reacted"] = [
                {"contribution": c, "counts": counts} for c, counts in sorted(totals.items())
            ]
    if pending.queue_changed and room.state == RoomState.OPEN:
        data["queue"] = _queue(room)
    elif pending.queue_changed and room.state == RoomState.CLOSED:
        # Raised as the room closed (hands take no lock): the close lowered the others.
        HandRaise.objects.filter(room=room, lowered_at=None, called_at=None).update(
            lowered_at=timezone.now()
        )
    if not data:
        return None
    return _emit(room, "reactions", data)


def contribution_pin(
    *, room: Room | int, actor: Actor, contribution: int, pinned: bool = True
) -> None:
    with transaction.atomic():
        room = _lock(room)
        _require_runner(actor, room)
        _require_open(room)
        target = _visible_contribution(room, contribution)
        target.pinned = pinned
        target.save(update_fields=["pinned"])
        _emit(room, "pinned", {"contribution": target.pk, "pinned": pinned})


def contribution_hide(*, room: Room | int, actor: Actor, contribution: int, reason: Any) -> None:
    """Hide a contribution, showing the reason in its place.

    The text is also removed from the logged ``said`` event, so late readers and reconnecting
    clients never receive it again.
    """
    reason = _clean_text(reason, field="reason", limit=500)
    with transaction.atomic():
        room = _lock(room)
        _require_runner(actor, room)
        target = _visible_contribution(room, contribution)
        target.hidden = True
        target.hidden_reason = reason
        target.pinned = False
        target.save(update_fields=["hidden", "hidden_reason", "pinned"])
        # Read under the room's lock, which proposal_scrub also takes before it rewrites this
        # room's events: neither writes back the other's change (order_by: no join to rooms).
        said = RoomEvent.objects.filter(room=room, type="said", data__id=target.pk).order_by("seq")
        for event in said:
            event.data = {**event.data, "text": "", "hidden": True}
            event.save(update_fields=["data"])
        _emit(room, "hidden", {"contribution": target.pk, "reason": reason})


def proposal_scrub(*, proposal_id: int) -> int:
    """Remove a proposal's title from every room's log, once it is hidden (``pb.events``
    announces it): late readers and replays then show the argument without the title. The
    contribution keeps its link to the proposal. Returns how many logged events changed.

    A room's logged events are rewritten only under its row lock, as ``contribution_hide``
    does, so the two never write back what the other removed. One room is locked at a time
    (in id order), never an event row first: every path takes the room's lock before its
    events', so no two can deadlock. (Locking the events themselves also locked their rooms,
    through the join ``RoomEvent``'s ordering makes, in whatever order the rows came: that
    deadlocked with a facilitator hiding an argument.) The search repeats until no event
    names the title, to take in one committed while the scrub ran.
    """
    scrubbed = {"id": proposal_id, "title": "", "hidden": True}
    naming = RoomEvent.objects.filter(type="said", data__proposal__id=proposal_id).exclude(
        data__proposal=scrubbed
    )
    changed = 0
    while room_ids := sorted(set(naming.order_by().values_list("room_id", flat=True))):
        for room_id in room_ids:
            with transaction.atomic():
                if not Room.objects.select_for_update().filter(pk=room_id).exists():
                    continue  # the room was deleted meanwhile, its log with it
                for event in naming.filter(room_id=room_id).order_by("seq"):
                    event.data = {**event.data, "proposal": scrubbed}
                    event.save(update_fields=["data"])
                    changed += 1
    return changed


def participant_mute(*, room: Room | int, actor: Actor, user: int, reason: Any) -> Mute:
    reason = _clean_text(reason, field="reason", limit=500)
    with transaction.atomic():
        room = _lock(room)
        _require_runner(actor, room)
        target = User.objects.filter(pk=user).first()
        if target is None:
            raise NotFound(_("There is no such person."), field="user")
        if rules.can_run_room(target, room):
            raise Conflict(_("Facilitators cannot be muted."), field="user")
        mute, created = Mute.objects.get_or_create(
            room=room, user=target, defaults={"reason": reason, "by": actor}
        )
        if not created:
            raise Conflict(_("This person is already muted here."), field="user")
        HandRaise.objects.filter(room=room, user=target, lowered_at=None, called_at=None).update(
            lowered_at=timezone.now()
        )
        _emit(room, "muted", {"user": person(target), "reason": reason, "queue": _queue(room)})
    return mute


# --- Speaker queue --------------------------------------------------------------------------


def hand_raise(*, room: Room | int, actor: Actor, rights: RoomRights | None = None) -> None:
    """Join the speaker queue. The hand is stored at once (a place in the queue survives a
    reconnect, a restart of Redis or of the server); the queue is announced by the next
    flush, with the reactions, in one ``reactions`` event.

    No lock on the room, so that a busy evening's hands never keep a contribution (which
    locks the row) waiting. A hand raised as its owner is muted is left out of the queue
    (``_waiting_hands``); one raised as the room closes is lowered by the next flush.
    ``rights``: as for ``reaction_set``."""
    room_id = room if isinstance(room, int) else room.pk
    _require_light_part(room, actor, rights)
    user = signed_in_user(actor)
    if HandRaise.objects.filter(
        room_id=room_id, user=user, lowered_at=None, called_at=None
    ).exists():
        raise Conflict(_("Your hand is already raised."))
    _rate_limit(actor, "light", LIGHT_LIMIT_PER_MINUTE)
    try:
        with transaction.atomic():
            HandRaise.objects.create(room_id=room_id, user=user)
            _queue_changed_on_commit(room_id)
    except IntegrityError:  # raised from another tab meanwhile
        raise Conflict(_("Your hand is already raised.")) from None


def hand_lower(*, room: Room | int, actor: Actor, rights: RoomRights | None = None) -> None:
    """Leave the speaker queue (a muted person may too). ``rights``: as for ``reaction_set``;
    a person allowed to raise a hand there saw the room open."""
    room_id = room if isinstance(room, int) else room.pk
    if rights is None or not (rules.is_signed_in(actor) and rights.may(actor.pk)):
        _require_open(_room_for_light(room))
    if not rules.is_signed_in(actor):
        raise NotAllowed(_("Log in to take part in this room."))
    lowered = HandRaise.objects.filter(
        room_id=room_id, user=signed_in_user(actor), lowered_at=None, called_at=None
    ).update(lowered_at=timezone.now())
    if not lowered:
        raise Conflict(_("Your hand is not raised."))
    _queue_changed_on_commit(room_id)


def _queue_changed_on_commit(room_id: int) -> None:
    def changed() -> None:
        light.queue_changed(room_id)
        light.schedule_flush(room_id)

    # robust: the hand is stored either way; if Redis is down the queue is announced with the
    # next change that reaches it.
    transaction.on_commit(changed, robust=True)


def speaker_next(*, room: Room | int, actor: Actor) -> User | None:
    """Call the longest-waiting raised hand; ``None`` when nobody is waiting."""
    with transaction.atomic():
        room = _lock(room)
        _require_runner(actor, room)
        _require_open(room)
        hand = _waiting_hands(room).first()
        if hand is not None:
            hand.called_at = timezone.now()
            hand.save(update_fields=["called_at"])
        speaker = hand.user if hand else None
        _emit(
            room,
            "speaker",
            {"user": person(speaker) if speaker else None, "queue": _queue(room)},
        )
    return speaker


# --- Agenda and timer -----------------------------------------------------------------------


def agenda_step(*, room: Room | int, actor: Actor, step: int) -> AgendaItem | None:
    """Make the item at position ``step`` (1-based) current; 0 clears the current item."""
    with transaction.atomic():
        room = _lock(room)
        _require_runner(actor, room)
        if room.state == RoomState.CLOSED:
            raise NotAllowed(_("This room is closed."), code="room_not_open")
        item = None
        if step != 0:
            item = AgendaItem.objects.filter(room=room, position=step).first()
            if item is None:
                raise NotFound(_("There is no such agenda item."), field="step")
        room.current_item = item
        room.save(update_fields=["current_item"])
        _emit(
            room,
            "agenda",
            {
                "item": {"id": item.pk, "position": item.position, "title": item.title}
                if item
                else None
            },
        )
    return item


def timer_set(*, room: Room | int, actor: Actor, seconds: int) -> dt.datetime | None:
    """Start a visible countdown of ``seconds``; 0 stops it."""
    if (
        isinstance(seconds, bool)
        or not isinstance(seconds, int)
        or not (0 <= seconds <= TIMER_MAX_SECONDS)
    ):
        raise DomainError(
            _("Give the timer a whole number of seconds from 0 to %(TIMER_MAX_SECONDS)s.")
            % {"TIMER_MAX_SECONDS": TIMER_MAX_SECONDS},
            field="seconds",
            code="invalid",
        )
    with transaction.atomic():
        room = _lock(room)
        _require_runner(actor, room)
        _require_open(room)
        ends = timezone.now() + dt.timedelta(seconds=seconds) if seconds else None
        room.timer_ends_at = ends
        room.save(update_fields=["timer_ends_at"])
        _emit(room, "timer", {"ends_at": ends.isoformat() if ends else None, "seconds": seconds})
    return ends


# --- Polls ----------------------------------------------------------------------------------


def _poll_counts(poll: Poll) -> dict[str, int]:
    counts = {str(pk): 0 for pk in poll.options.values_list("pk", flat=True)}
    for row in PollVote.objects.filter(poll=poll).values("option").annotate(n=Count("id")):
        counts[str(row["option"])] = row["n"]
    return counts


def poll_open(
    *, room: Room | int, actor: Actor, question: Any, options: Any, show_live: bool = True
) -> Poll:
    question = _clean_text(question, field="question", limit=300)
    if not isinstance(options, list | tuple):
        raise DomainError(_("Give the poll a list of options."), field="options", code="invalid")
    cleaned = [o.strip() for o in options if isinstance(o, str) and o.strip()]
    if len(cleaned) != len(options) or not 2 <= len(cleaned) <= POLL_MAX_OPTIONS:
        raise DomainError(
            ngettext(
                "Give the poll from 2 to %(n)s option, each with some text.",
                "Give the poll from 2 to %(n)s options, each with some text.",
                POLL_MAX_OPTIONS,
            )
            % {"n": POLL_MAX_OPTIONS},
            field="options",
            code="invalid",
        )
    if any(len(o) > 200 for o in cleaned):
        raise DomainError(
            _("Keep each option to 200 characters."), field="options", code="too_long"
        )
    with transaction.atomic():
        room = _lock(room)
        _require_runner(actor, room)
        _require_open(room)
        poll = Poll.objects.create(room=room, question=question, show_live=bool(show_live))
        opts = [
            PollOption.objects.create(poll=poll, position=i, text=text)
            for i, text in enumerate(cleaned, start=1)
        ]
        _emit(
            room,
            "poll_opened",
            {
                "poll": {
                    "id": poll.pk,
                    "question": question,
                    "show_live": poll.show_live,
                    "options": [{"id": o.pk, "text": o.text} for o in opts],
                }
            },
        )
    return poll


def _open_poll(room: Room, poll: int, closed: str) -> Poll:
    """The room's poll ``poll``, still open; ``closed`` says why not when it has closed."""
    target = Poll.objects.filter(room=room, pk=poll).first()
    if target is None:
        raise NotFound(_("There is no such poll."), field="poll")
    if target.closed_at is not None:
        raise Conflict(closed, field="poll")
    return target


def poll_vote(*, room: Room | int, actor: Actor, poll: int, option: int) -> PollVote:
    """Choose one option; choosing again while the poll is open changes the choice."""
    with transaction.atomic():
        room = _lock(room)
        _require_part(actor, room)
        target = _open_poll(room, poll, _("This poll has closed."))
        choice = PollOption.objects.filter(poll=target, pk=option).first()
        if choice is None:
            raise NotFound(_("There is no such option in this poll."), field="option")
        _rate_limit(actor, "light", LIGHT_LIMIT_PER_MINUTE)
        vote, _created = PollVote.objects.update_or_create(
            poll=target, user=actor, defaults={"option": choice}
        )
        counts = _poll_counts(target)
        _emit(
            room,
            "poll_voted",
            {
                "poll": target.pk,
                "total": sum(counts.values()),
                "counts": counts if target.show_live else None,
            },
        )
    return vote


def _close_poll(room: Room, poll: Poll) -> None:
    poll.closed_at = timezone.now()
    poll.save(update_fields=["closed_at"])
    counts = _poll_counts(poll)
    _emit(room, "poll_closed", {"poll": poll.pk, "counts": counts, "total": sum(counts.values())})


def poll_close(*, room: Room | int, actor: Actor, poll: int) -> Poll:
    with transaction.atomic():
        room = _lock(room)
        _require_runner(actor, room)
        target = _open_poll(room, poll, _("This poll has already closed."))
        _close_poll(room, target)
    return target

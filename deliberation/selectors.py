"""Reads for rooms: the event log, the state rebuilt from it, and arguments per proposal.

``fold`` is the one definition of how events build a room's state; ``static/js/room.js``
applies the same rules in the browser, so a page rendered from the log and a page kept live by
the socket show the same thing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from django.db.models import QuerySet

from deliberation.models import Contribution, ContributionKind, Room, RoomEvent, RoomState
from pb.phases import CLOSED_PHASES, Action, phases_allowing
from pb.proposals.models import Proposal, ProposalStatus
from pb.rounds.models import Round


def person(user: Any) -> dict[str, Any]:
    """How a person appears in events: their public name only, never their e-mail."""
    return {"id": user.pk, "name": user.public_name}


def event_frame(event: RoomEvent) -> dict[str, Any]:
    return {
        "type": "event",
        "seq": event.seq,
        "event": event.type,
        "data": event.data,
        "at": event.created_at.isoformat(),
    }


def event_text(event: RoomEvent) -> str:
    return json.dumps(event_frame(event), separators=(",", ":"))


def events_since(room: Room | int, seq: int, *, until: int | None = None) -> QuerySet[RoomEvent]:
    """Events of the room with a sequence number above ``seq`` (and up to ``until``), in order."""
    room_id = room if isinstance(room, int) else room.pk
    events = RoomEvent.objects.filter(room_id=room_id, seq__gt=seq)
    if until is not None:
        events = events.filter(seq__lte=until)
    return events.order_by("seq")


def rooms_for_round(round_: Round) -> QuerySet[Room]:
    return Room.objects.filter(round=round_).select_related("area", "proposal")


def room_for_page(pk: int) -> Room | None:
    return Room.objects.select_related("round", "area", "proposal").filter(pk=pk).first()


def initial_state(room: Room) -> dict[str, Any]:
    return {
        "id": room.pk,
        "title": room.title,
        "state": RoomState.SCHEDULED,
        "last_seq": 0,
        "contributions": [],
        "queue": [],
        "speaker": None,
        "agenda_item": None,
        "timer_ends_at": None,
        "polls": [],
        "muted": [],
        "summary": "",
        "agenda": [
            {"id": item.pk, "position": item.position, "title": item.title}
            for item in room.agenda.all()
        ],
    }


def apply_event(state: dict[str, Any], seq: int, type_: str, data: dict[str, Any]) -> None:
    """Fold one event into ``state`` (mutated in place)."""
    state["last_seq"] = seq
    contributions = {c["id"]: c for c in state["contributions"]}
    polls = {p["id"]: p for p in state["polls"]}
    if type_ == "opened":
        state["state"] = RoomState.OPEN
    elif type_ == "closed":
        state["state"] = RoomState.CLOSED
        state["summary"] = data["summary"]
        state["queue"] = []
        state["timer_ends_at"] = None
    elif type_ == "said":
        state["contributions"].append(
            {
                **data,
                "hidden": bool(data.get("hidden")),
                "reason": "",
                "pinned": False,
                "counts": {"agree": 0, "disagree": 0, "unsure": 0},
            }
        )
    elif type_ == "reactions":
        # Reactions and hands in aggregate (a few a second per room): the totals of each
        # contribution reacted to since the last one, and the queue when hands changed.
        for item in data.get("reacted", ()):
            if item["contribution"] in contributions:
                contributions[item["contribution"]]["counts"] = item["counts"]
        if "queue" in data:
            state["queue"] = data["queue"]
    elif type_ == "reacted" and data["contribution"] in contributions:
        # Logs written before reactions were aggregated hold one event per reaction and hand.
        contributions[data["contribution"]]["counts"] = data["counts"]
    elif type_ == "pinned" and data["contribution"] in contributions:
        contributions[data["contribution"]]["pinned"] = data["pinned"]
    elif type_ == "hidden" and data["contribution"] in contributions:
        c = contributions[data["contribution"]]
        c.update(hidden=True, reason=data["reason"], text="", pinned=False)
    elif type_ in ("hand", "speaker", "muted"):
        state["queue"] = data["queue"]
        if type_ == "speaker":
            state["speaker"] = data["user"]
        if type_ == "muted":
            state["muted"].append({"user": data["user"], "reason": data["reason"]})
    elif type_ == "agenda":
        state["agenda_item"] = data["item"]
    elif type_ == "timer":
        state["timer_ends_at"] = data["ends_at"]
    elif type_ == "poll_opened":
        poll = data["poll"]
        state["polls"].append(
            {
                **poll,
                "counts": {str(o["id"]): 0 for o in poll["options"]} if poll["show_live"] else None,
                "total": 0,
                "closed": False,
            }
        )
    elif type_ == "poll_voted" and data["poll"] in polls:
        polls[data["poll"]].update(total=data["total"], counts=data["counts"])
    elif type_ == "poll_closed" and data["poll"] in polls:
        polls[data["poll"]].update(total=data["total"], counts=data["counts"], closed=True)


def fold(room: Room, events: Iterable[RoomEvent]) -> dict[str, Any]:
    state = initial_state(room)
    for event in events:
        apply_event(state, event.seq, event.type, event.data)
    return state


def room_state(room: Room) -> dict[str, Any]:
    """The room as its log says it is now: what pages and venue screens show."""
    state = fold(room, events_since(room, 0))
    for poll in state["polls"]:
        counts = poll["counts"] or {}
        poll["results"] = [
            {**option, "votes": counts.get(str(option["id"]))} for option in poll["options"]
        ]
    by_id = {c["id"]: c for c in state["contributions"]}
    for c in state["contributions"]:
        c["kind_label"] = str(ContributionKind(c["kind"]).label)
        parent = by_id.get(c.get("reply_to"))
        c["reply_to_author"] = parent["author"]["name"] if parent else None
    state["pinned"] = [c for c in state["contributions"] if c["pinned"] and not c["hidden"]]
    state["open_polls"] = [p for p in state["polls"] if not p["closed"]]
    return state


def arguments_for_proposal(proposal: Proposal) -> dict[str, list[Contribution]]:
    """Visible arguments for and against a proposal from every room, oldest first."""
    found = (
        Contribution.objects.filter(
            proposal=proposal,
            hidden=False,
            kind__in=[ContributionKind.FOR, ContributionKind.AGAINST],
        )
        .select_related("author", "room")
        .order_by("created_at", "id")
    )
    result: dict[str, list[Contribution]] = {"for": [], "against": []}
    for contribution in found:
        result[contribution.kind].append(contribution)
    return result


def proposals_to_discuss(round_: Round) -> QuerySet[Proposal]:
    """The proposals a room may be about, or a contribution name: shown, neither a draft nor
    withdrawn nor merged into another."""
    return Proposal.objects.filter(round=round_, hidden=False).exclude(
        status__in=[ProposalStatus.DRAFT, ProposalStatus.WITHDRAWN, ProposalStatus.MERGED]
    )


def rooms_for_facilitator(*, user: Any) -> QuerySet[Room]:
    """The rooms this person facilitates that are not closed yet, soonest first."""
    if not getattr(user, "is_authenticated", False):
        return Room.objects.none()
    return (
        Room.objects.filter(facilitators=user)
        .exclude(state=RoomState.CLOSED)
        .select_related("round", "area")
        .order_by("starts_at", "id")
    )


def rounds_for_new_rooms(*, user: Any) -> QuerySet[Round]:
    """Published rounds in a phase that allows discussion, where a facilitator may plan a room."""
    from backend.accounts import rules as base

    if not base.can_facilitate(user) and not base.is_admin(user):
        return Round.objects.none()
    return (
        Round.objects.filter(phase__in=phases_allowing(Action.COMMENT))
        .exclude(phase__in=CLOSED_PHASES)
        .order_by("name")
    )


def rooms_open() -> list[int]:
    """Ids of the rooms open now."""
    from deliberation.models import RoomState

    return list(Room.objects.filter(state=RoomState.OPEN).values_list("pk", flat=True))

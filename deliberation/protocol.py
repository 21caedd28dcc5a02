"""The client-to-server frames of the live protocol, checked and handed to the services.

The WebSocket consumer and the no-JavaScript forms both call :func:`perform`, so a frame and
a form post are validated the same way and reach the same service. Bad input raises
``ProtocolError`` (a ``DomainError``) before anything is stored. See docs/live-protocol.md.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.utils.translation import gettext as _

from backend.accounts.models import Actor
from backend.errors import DomainError
from deliberation import services
from deliberation.rights import RoomRights


class ProtocolError(DomainError):
    code = "bad_frame"


def _field(frame: dict[str, Any], name: str) -> Any:
    if name not in frame or frame[name] is None:
        raise ProtocolError(
            _("The frame needs a '%(name)s' field.") % {"name": name},
            field=name,
            code="missing_field",
        )
    return frame[name]


def _int(frame: dict[str, Any], name: str, *, required: bool = True) -> int | None:
    if not required and frame.get(name) in (None, ""):
        return None
    value = _field(frame, name)
    if isinstance(value, bool):
        raise ProtocolError(
            _("'%(name)s' must be a whole number.") % {"name": name}, field=name, code="invalid"
        )
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    raise ProtocolError(
        _("'%(name)s' must be a whole number.") % {"name": name}, field=name, code="invalid"
    )


def _req_int(frame: dict[str, Any], name: str) -> int:
    value = _int(frame, name)
    assert value is not None
    return value


def _bool(frame: dict[str, Any], name: str, default: bool | None = None) -> bool:
    if default is not None and name not in frame:
        return default
    value = _field(frame, name)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "1", "on", "yes"}:
        return True
    if isinstance(value, str) and value.lower() in {"false", "0", "off", "no"}:
        return False
    raise ProtocolError(
        _("'%(name)s' must be true or false.") % {"name": name}, field=name, code="invalid"
    )


def _say(room: int, user: Actor, f: dict[str, Any]) -> None:
    services.contribution_say(
        room=room,
        actor=user,
        kind=_field(f, "kind"),
        text=_field(f, "text"),
        reply_to=_int(f, "reply_to", required=False),
        proposal=_int(f, "proposal", required=False),
    )


def _react(room: int, user: Actor, f: dict[str, Any], rights: RoomRights | None = None) -> None:
    services.reaction_set(
        room=room,
        actor=user,
        contribution=_req_int(f, "contribution"),
        reaction=_field(f, "reaction"),
        rights=rights,
    )


def _hand(room: int, user: Actor, f: dict[str, Any], rights: RoomRights | None = None) -> None:
    if _bool(f, "raised"):
        services.hand_raise(room=room, actor=user, rights=rights)
    else:
        services.hand_lower(room=room, actor=user, rights=rights)


def _poll_vote(room: int, user: Actor, f: dict[str, Any]) -> None:
    services.poll_vote(
        room=room, actor=user, poll=_req_int(f, "poll"), option=_req_int(f, "option")
    )


def _open(room: int, user: Actor, f: dict[str, Any]) -> None:
    services.room_open(room=room, actor=user)


def _next_speaker(room: int, user: Actor, f: dict[str, Any]) -> None:
    services.speaker_next(room=room, actor=user)


def _agenda(room: int, user: Actor, f: dict[str, Any]) -> None:
    services.agenda_step(room=room, actor=user, step=_req_int(f, "step"))


def _timer(room: int, user: Actor, f: dict[str, Any]) -> None:
    services.timer_set(room=room, actor=user, seconds=_req_int(f, "seconds"))


def _poll_open(room: int, user: Actor, f: dict[str, Any]) -> None:
    options = _field(f, "options")
    if isinstance(options, str):  # a form's textarea: one option a line
        options = [line for line in options.splitlines() if line.strip()]
    services.poll_open(
        room=room,
        actor=user,
        question=_field(f, "question"),
        options=options,
        show_live=_bool(f, "show_live", default=True),
    )


def _poll_close(room: int, user: Actor, f: dict[str, Any]) -> None:
    services.poll_close(room=room, actor=user, poll=_req_int(f, "poll"))


def _pin(room: int, user: Actor, f: dict[str, Any]) -> None:
    services.contribution_pin(
        room=room,
        actor=user,
        contribution=_req_int(f, "contribution"),
        pinned=_bool(f, "pinned", default=True),
    )


def _hide(room: int, user: Actor, f: dict[str, Any]) -> None:
    services.contribution_hide(
        room=room, actor=user, contribution=_req_int(f, "contribution"), reason=_field(f, "reason")
    )


def _mute(room: int, user: Actor, f: dict[str, Any]) -> None:
    services.participant_mute(
        room=room, actor=user, user=_req_int(f, "user"), reason=_field(f, "reason")
    )


def _close(room: int, user: Actor, f: dict[str, Any]) -> None:
    services.room_close(room=room, actor=user, summary=_field(f, "summary"))


ACTIONS: dict[str, Callable[[int, Actor, dict[str, Any]], None]] = {
    "say": _say,
    "react": _react,
    "hand": _hand,
    "poll_vote": _poll_vote,
    "open": _open,
    "next_speaker": _next_speaker,
    "agenda": _agenda,
    "timer": _timer,
    "poll_open": _poll_open,
    "poll_close": _poll_close,
    "pin": _pin,
    "hide": _hide,
    "mute": _mute,
    "close": _close,
}

#: Frames counted in aggregate (``deliberation.light``): no event of their own, no row lock
#: held against each other, so the consumer need not queue them with the room's other changes.
LIGHT_ACTIONS = frozenset({"react", "hand"})
#: The light actions again, taking the checks the room's hub kept.
LIGHT_PERFORMERS: dict[str, Callable[[int, Actor, dict[str, Any], RoomRights], None]] = {
    "react": _react,
    "hand": _hand,
}

#: Frames that only facilitators may send; anyone else gets ``not_allowed`` from the services.
FACILITATOR_ACTIONS = frozenset(
    {"open", "next_speaker", "agenda", "timer", "poll_open", "poll_close", "pin", "hide", "mute"}
    | {"close"}
)


def action_for(frame: Any) -> Callable[[int, Actor, dict[str, Any]], None]:
    """The action a frame asks for; ``ProtocolError`` when it is not an object or its type is
    unknown (the consumer asks first, so such a frame costs no trip to the database)."""
    if not isinstance(frame, dict):
        raise ProtocolError(_("Frames must be JSON objects."), code="bad_json")
    kind = frame.get("type")
    action = ACTIONS.get(kind) if isinstance(kind, str) else None
    if action is None:
        raise ProtocolError(_("Unknown frame type %(kind)r.") % {"kind": kind}, code="unknown_type")
    return action


def perform(room_id: int, user: Actor, frame: Any, rights: RoomRights | None = None) -> None:
    """Carry out one client frame (other than ``join``) for ``user`` in room ``room_id``.
    ``rights``: what the room's hub already checked, for reactions and hands (a live
    connection's; ``deliberation.rights``)."""
    action = action_for(frame)
    if rights is not None and frame["type"] in LIGHT_ACTIONS:
        LIGHT_PERFORMERS[frame["type"]](room_id, user, frame, rights)
    else:
        action(room_id, user, frame)

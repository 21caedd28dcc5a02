"""Room pages: HTTP only. Reads come from the event log (``selectors.room_state``); every
action is posted as a protocol frame and goes through ``protocol.perform``, exactly like a
WebSocket frame, so the page works without JavaScript."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from backend.accounts.models import Actor
from backend.errors import DomainError
from backend.forms import add_domain_error
from backend.plurals import plural_forms
from deliberation import protocol, rules, selectors, services
from deliberation.forms import RoomForm
from deliberation.models import ContributionKind, ReactionKind, Room, RoomState
from pb.rounds.selectors import get_visible_round

_DONE = {
    "say": _("Your contribution is in the room."),
    "react": _("Your reaction is counted."),
    "poll_vote": _("Your answer is counted."),
}


def _room(pk: int, user: Actor) -> Room:
    room = selectors.room_for_page(pk)
    if room is None or not rules.can_read_room(user, room):
        raise Http404
    return room


def room_list(request: HttpRequest, slug: str) -> HttpResponse:
    round_ = get_visible_round(user=request.user, slug=slug)
    can_create = rules.can_create_room(request.user, round_)
    form = RoomForm(request.POST or None, round=round_) if can_create else None
    if request.method == "POST":
        if form is None:
            raise PermissionDenied
        if form.is_valid():
            data = form.cleaned_data
            try:
                room = services.room_create(
                    actor=request.user,
                    round=round_,
                    title=data["title"],
                    starts_at=data["starts_at"],
                    ends_at=data["ends_at"],
                    area=data["area"],
                    proposal=data["proposal"],
                    agenda=data["agenda"].splitlines(),
                )
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                messages.success(request, _("The room is ready. Open it when the session starts."))
                return redirect("room_detail", room.pk)
    context = {"round": round_, "rooms": selectors.rooms_for_round(round_), "form": form}
    status = 400 if form is not None and form.is_bound and form.errors else 200
    return render(request, "deliberation/room_list.html", context, status=status)


def _labels() -> dict[str, Any]:
    """Words ``static/js/room.js`` needs, translated where the page is rendered."""
    return {
        "kinds": {value: str(label) for value, label in ContributionKind.choices},
        "reactions": {value: str(label) for value, label in ReactionKind.choices},
        "states": {value: str(label) for value, label in RoomState.choices},
        "nobody": _("Nobody is waiting."),
        "hidden_note": _("A facilitator hid this contribution. The reason:"),
        "closed": _("Closed."),
        "answers": plural_forms(lambda n: ngettext("%(n)s answer", "%(n)s answers", n)),
        "at_close": _("results at the close"),
        "your_answer": _("Your answer"),
        "answer": _("Answer"),
        "close_poll": _("Close this poll"),
        "raise": _("Raise your hand"),
        "lower": _("Lower your hand"),
        "pin": _("Pin"),
        "unpin": _("Unpin"),
        "people_here": plural_forms(
            lambda n: ngettext("%(n)s person here", "%(n)s people here", n)
        ),
        "new_contribution": _("New contribution from"),
        "offline": _("Live updates paused; reconnecting…"),
    }


def _common(room: Room, state: dict[str, Any]) -> dict[str, Any]:
    ends = state["timer_ends_at"]
    return {
        "room": room,
        "round": room.round,
        "state": state,
        "state_label": RoomState(state["state"]).label,
        # The states by name, so the templates compare with RoomState.OPEN, not "open".
        "RoomState": RoomState,
        "labels": _labels(),
        "timer_ends": parse_datetime(ends) if ends else None,
        "ws_path": f"/ws/rooms/{room.pk}/",
    }


def _page_context(request: HttpRequest, room: Room) -> dict[str, Any]:
    state = selectors.room_state(room)
    user = request.user
    can_run = rules.can_run_room(user, room)
    reply_to = request.GET.get("reply_to", "")
    return {
        **_common(room, state),
        "placeholder": {
            "id": "__ID__",
            "kind": ContributionKind.MESSAGE,
            "author": {"id": "__AUTHOR__", "name": ""},
            "proposal": {"title": ""},
            "reply_to": "__REPLY__",
            "counts": {},
        },
        "can_run": can_run,
        "can_take_part": rules.can_take_part(user, room),
        "check_first": _(services.CHECK_FIRST) if rules.needs_check(user, room) else "",
        "is_muted": rules.is_muted(user, room),
        "my_hand_up": rules.is_signed_in(user) and any(p["id"] == user.pk for p in state["queue"]),
        "kinds": ContributionKind.choices,
        "reactions": ReactionKind.choices,
        "proposals": selectors.proposals_to_discuss(room.round).only("pk", "title"),
        "reply_to": reply_to if reply_to.isdigit() else "",
    }


def room_detail(request: HttpRequest, pk: int) -> HttpResponse:
    room = _room(pk, request.user)
    return render(request, "deliberation/room_detail.html", _page_context(request, room))


@require_POST
def room_act(request: HttpRequest, pk: int) -> HttpResponse:
    """Carry out one posted frame; on a refusal show the page again with the input kept."""
    room = _room(pk, request.user)
    frame: dict[str, Any] = {k: v for k, v in request.POST.items() if k != "csrfmiddlewaretoken"}
    try:
        protocol.perform(room.pk, request.user, frame)
        if frame.get("type") in ("react", "hand"):
            # Counted in aggregate a few times a second; the page that follows shows it now.
            services.light_flush(room.pk)
    except DomainError as exc:
        context = _page_context(request, room)
        context.update(error=exc, posted=frame)
        return render(request, "deliberation/room_detail.html", context, status=400)
    message = _DONE.get(str(frame.get("type")), _("Done."))
    messages.success(request, message)
    anchor = "#facilitation" if frame.get("type") in protocol.FACILITATOR_ACTIONS else "#live"
    return redirect(reverse("room_detail", args=[room.pk]) + anchor)


def room_screen(request: HttpRequest, pk: int) -> HttpResponse:
    """The venue screen for a projector: large type, no controls."""
    room = _room(pk, request.user)
    state = selectors.room_state(room)
    latest_poll = state["polls"][-1] if state["polls"] else None
    context = {**_common(room, state), "latest_poll": latest_poll}
    return render(request, "deliberation/room_screen.html", context)

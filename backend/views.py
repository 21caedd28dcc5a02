from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from backend import api
from backend.accounts import rules
from backend.accounts import selectors as account_selectors
from deliberation import selectors as room_selectors
from pb import selectors as pb_selectors


def home(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "home.html",
        {
            "rounds": pb_selectors.round_list_public(),
            "can_start_round": rules.manages_any_area(request.user),
        },
    )


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    user = request.user
    proposals = list(pb_selectors.proposal_list_for_author(author=user))
    # Each role sees what waits for it, one click from here: a facilitator's rooms, event
    # staff's desks, a manager's queues, a councillor's reports (in the template tag).
    context = {
        "notifications": user.notifications.all()[:20],  # type: ignore[union-attr]
        "proposals": proposals,
        "outcomes": pb_selectors.proposal_outcomes_for(proposals),
        "managed_rounds": pb_selectors.manager_queues(user=user),
        "can_start_round": rules.manages_any_area(user),
        "residents_to_check": (
            account_selectors.profiles_to_check(user=user).count()
            if rules.manages_any_area(user)
            else 0
        ),
        "event_rounds": pb_selectors.round_list_for_event_staff(user=user),
        "my_rooms": room_selectors.rooms_for_facilitator(user=user),
        "room_rounds": room_selectors.rounds_for_new_rooms(user=user),
    }
    return render(request, "dashboard.html", context)


def healthz(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if request.path.startswith("/api/"):
        return api.json_404(request, exception)
    return render(request, "404.html", status=404)


def forbidden(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """A refusal in the site's style that says what to do next, not Django's bare 403."""
    if request.path.startswith("/api/"):
        return api.json_403(request, exception)
    return render(request, "403.html", status=403)


def server_error(request: HttpRequest) -> HttpResponse:
    if request.path.startswith("/api/"):
        return api.json_500(request)
    return render(request, "500.html", status=500)

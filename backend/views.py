from __future__ import annotations

import hmac
import sys

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from backend import api, health
from backend.accounts import rules
from backend.accounts import selectors as account_selectors
from backend.metrics import CommonpurseCollector
from deliberation import selectors as room_selectors
from pb.proposals import selectors as proposal_selectors
from pb.rounds import selectors as round_selectors


def home(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "home.html",
        {
            "rounds": round_selectors.round_list_public(),
            "can_start_round": rules.manages_any_area(request.user),
        },
    )


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    user = request.user
    proposals = list(proposal_selectors.proposal_list_for_author(author=user))
    # Each role sees what waits for it, one click from here: a facilitator's rooms, event
    # staff's desks, a manager's queues, a councillor's reports (in the template tag).
    context = {
        "notifications": user.notifications.all()[:20],  # type: ignore[union-attr]
        "proposals": proposals,
        "outcomes": proposal_selectors.proposal_outcomes_for(proposals),
        "managed_rounds": round_selectors.manager_queues(user=user),
        "can_start_round": rules.manages_any_area(user),
        "residents_to_check": (
            account_selectors.profiles_to_check(user=user).count()
            if rules.manages_any_area(user)
            else 0
        ),
        "event_rounds": round_selectors.round_list_for_event_staff(user=user),
        "my_rooms": room_selectors.rooms_for_facilitator(user=user),
        "room_rounds": room_selectors.rounds_for_new_rooms(user=user),
    }
    return render(request, "dashboard.html", context)


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers. It touches nothing else, so a database outage does not
    get every web process restarted (readiness, ``/readyz``, says whether it can serve)."""
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: PostgreSQL, Redis and the broker answer (503 with each one's state if not)."""
    state = health.readiness()
    response = JsonResponse(state, status=200 if state["ready"] else 503)
    if not state["ready"]:
        response["Retry-After"] = str(health.RETRY_AFTER)
    return response


def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus metrics (``backend.metrics``) for a scraper holding ``METRICS_TOKEN``."""
    token = settings.METRICS_TOKEN
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not token and not settings.DEBUG:
        return JsonResponse(
            api.error_body(403, "not_allowed", "Set METRICS_TOKEN to publish the metrics."),
            status=403,
        )
    if token and not hmac.compare_digest(given.encode(), token.encode()):
        response = JsonResponse(
            api.error_body(401, "not_authenticated", "Send 'Authorization: Bearer <token>'."),
            status=401,
        )
        response["WWW-Authenticate"] = "Bearer"
        return response
    registry = CollectorRegistry(auto_describe=False)
    registry.register(CommonpurseCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)


def unavailable(request: HttpRequest) -> HttpResponse:
    """The database is down or restarting: ask to try again in a minute, never a traceback."""
    health.pool_discard_broken()
    if request.path.startswith("/api/"):
        response: HttpResponse = api.json_503(request)
    else:
        response = render(request, "503.html", {"retry_after": health.RETRY_AFTER}, status=503)
    response["Retry-After"] = str(health.RETRY_AFTER)
    return response


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
    if health.database_unavailable(sys.exc_info()[1]):
        return unavailable(request)
    if request.path.startswith("/api/"):
        return api.json_500(request)
    return render(request, "500.html", status=500)

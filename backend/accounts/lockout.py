"""What django-axes needs from us: the account a log-in names, and the page a locked-out
person sees. The counting, the lock-out and its expiry are axes' own (settings: ``AXES_*``)."""

from __future__ import annotations

import math
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def login_name(request: HttpRequest, credentials: dict[str, Any] | None) -> str:
    """The e-mail address a log-in names, as accounts store it (trimmed, lower case): otherwise
    ``Resident@example.org`` and ``resident@example.org`` would count separately."""
    name = (credentials or {}).get("username") or request.POST.get("username", "")
    return str(name).strip().lower()


def locked_out(
    request: HttpRequest, response: Any = None, credentials: dict[str, Any] | None = None
) -> HttpResponse:
    """The 429 page: why logging in is paused, how long for, and what to do meanwhile."""
    seconds = int(settings.AXES_COOLOFF_TIME.total_seconds())
    page = render(
        request,
        "registration/locked_out.html",
        {
            "failure_limit": settings.AXES_FAILURE_LIMIT,
            "cooloff_minutes": max(1, math.ceil(seconds / 60)),
        },
        status=429,
    )
    page["Retry-After"] = str(seconds)
    return page


def lockout_clear(*, email: str) -> None:
    """Forget an account's failed log-ins: called once its owner has set a new password by the
    e-mailed link, which proves they hold the address."""
    from axes.utils import reset

    reset(username=email.strip().lower())

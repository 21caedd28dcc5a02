"""How long a signed-in session lasts: shorter for anyone with a staff role.

A manager, event staff member, facilitator, councillor or administrator can change rounds,
codes and ballots; a session they forget on a shared computer at a venue should not keep those
powers for Django's two weeks. Residents keep the long session (they only vote and take part).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from backend.accounts.models import Role


def session_seconds(user: Any) -> int | None:
    """Seconds this person's session lasts, or None for the site's default (residents)."""
    if getattr(user, "is_superuser", False) or getattr(user, "is_staff", False):
        return int(settings.STAFF_SESSION_SECONDS)
    if getattr(user, "role", Role.RESIDENT) != Role.RESIDENT:
        return int(settings.STAFF_SESSION_SECONDS)
    return None


def session_limit(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """On every log-in (the log-in page, the admin, sign-up confirmation): a staff role's
    session expires after ``STAFF_SESSION_SECONDS``. Connected to ``user_logged_in``."""
    seconds = session_seconds(user)
    if seconds is not None and hasattr(request, "session"):
        request.session.set_expiry(seconds)

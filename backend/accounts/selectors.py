"""Reads about people."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from backend.accounts import rules
from backend.accounts.models import Actor, Profile


def profiles_to_check(*, user: Actor) -> QuerySet[Profile]:
    """Residents not yet checked whose home area this manager runs (a ward includes its
    neighbourhoods); everyone's for an admin. Never their own: nobody checks themselves."""
    qs = Profile.objects.filter(verified=False, home_area__isnull=False).select_related(
        "user", "home_area"
    )
    if rules.is_signed_in(user):
        qs = qs.exclude(user_id=user.pk)
    if not rules.is_admin(user):
        areas = user.managed_areas.all() if rules.manages_any_area(user) else []
        qs = qs.filter(Q(home_area__in=areas) | Q(home_area__parent__in=areas))
    return qs.order_by("home_area__name", "user__display_name")

"""Template helpers for links into outcome feedback from other apps' pages."""

from __future__ import annotations

from typing import Any

from django import template

from pb.models import Round

register = template.Library()

COUNTED_PHASES = ("results", "implementation")


@register.simple_tag
def outcome_reports_for(user: Any) -> list[Round]:
    """Counted rounds whose outcome report this person may read (their wards or areas)."""
    if not getattr(user, "is_authenticated", False):
        return []
    rounds = Round.objects.filter(phase__in=COUNTED_PHASES)
    if not (user.is_superuser or user.role == "admin"):
        rounds = rounds.filter(areas__in=[*user.represented_areas.all(), *user.managed_areas.all()])
    return list(rounds.distinct().order_by("-created_at")[:10])

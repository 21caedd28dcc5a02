"""Reads for rounds, areas and proposals. Views and the API call these, never raw queries."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from backend.accounts import rules
from pb.models import Proposal, Round
from pb.phases import Phase


def round_list_public() -> QuerySet[Round]:
    """Rounds residents can see: everything past preparation, newest first."""
    return Round.objects.exclude(phase=Phase.DRAFT).prefetch_related("areas")


def round_list_for_manager(*, user: Any) -> QuerySet[Round]:
    if rules.is_admin(user):
        return Round.objects.all()
    if not rules.manages_any_area(user):
        return Round.objects.none()
    return Round.objects.filter(areas__in=user.managed_areas.all()).distinct()


def proposal_list_for_author(*, author: Any) -> QuerySet[Proposal]:
    if not rules.is_signed_in(author):
        return Proposal.objects.none()
    return Proposal.objects.filter(author=author).select_related("round", "area")

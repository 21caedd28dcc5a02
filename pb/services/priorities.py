"""Writes for thematic priorities (Porto Alegre): residents rank the themes for their area."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from backend.errors import DomainError, NotAllowed
from pb import rules
from pb.models import Round, Theme, ThemeRanking
from pb.phases import Action
from pb.services.guards import require, require_phase

DEFAULT_PRIORITY_POINTS = (4, 3, 2, 1)


def themes_rank(*, user: Any, round: Round, themes: Sequence[Theme]) -> list[ThemeRanking]:
    """A resident ranks themes for their area (1st, 2nd, ...); ranking again replaces it."""
    require(rules.is_signed_in(user), _("Log in to rank the priorities."))
    require_phase(round, Action.RANK_THEMES, _("Priorities are not being ranked now."))
    profile = getattr(user, "profile", None)
    area = profile.home_area if profile else None
    if area is None or not round.round_areas.filter(area=area).exists():
        raise NotAllowed(
            _(
                "Only residents of the round's areas can rank its priorities. Set "
                "where you live on your details page."
            ),
            code="not_eligible",
        )
    if not themes:
        raise DomainError(_("Choose at least one theme."), field="themes")
    if len({t.pk for t in themes}) != len(themes):
        raise DomainError(_("Each theme can only be ranked once."), field="themes")
    points = round.priority_points or list(DEFAULT_PRIORITY_POINTS)
    if len(themes) > len(points):
        raise DomainError(_("Rank at most %(len)s themes.") % {"len": len(points)}, field="themes")
    with transaction.atomic():
        ThemeRanking.objects.filter(round=round, user=user).delete()
        return ThemeRanking.objects.bulk_create(
            ThemeRanking(round=round, area=area, user=user, theme=t, position=i + 1)
            for i, t in enumerate(themes)
        )

"""Writes for thematic priorities (Porto Alegre): residents rank the themes for their area."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from backend.accounts.models import Actor
from backend.accounts.rules import signed_in_user
from backend.errors import DomainError, NotAllowed
from pb import rules
from pb.models import Round, Theme, ThemeRanking
from pb.phases import Action
from pb.services.guards import require, require_phase

DEFAULT_PRIORITY_POINTS = (4, 3, 2, 1)


def themes_rank_refusal(*, actor: Actor, round: Round) -> str:
    """Why this signed-in person may not rank the round's priorities, or "" when they may.
    Pages ask it before showing the form, so nobody fills it in to be refused."""
    profile = getattr(actor, "profile", None)
    area = profile.home_area if profile else None
    if area is not None and round.round_areas.filter(area=area).exists():
        if rules.is_checked_resident(actor, area):
            return ""
        # The priorities feed the split of the money between areas: a home area anyone can
        # declare would let a few sign-ups move it, so only checked residents rank.
        return _(
            "Only residents whose home area the council has checked can rank this round's "
            "priorities. You can read them meanwhile; to get checked, see how on your details "
            "page."
        )
    names = ", ".join(round.areas.order_by("name").values_list("name", flat=True))
    if area is None:
        return _(
            "Only residents of %(areas)s can rank this round's priorities. Say where you live "
            "on your details page."
        ) % {"areas": names}
    return _(
        "Only residents of %(areas)s can rank this round's priorities, and your home area is "
        "%(home)s. If you live in one of them, choose it on your details page."
    ) % {"areas": names, "home": area.name}


def themes_rank(*, actor: Actor, round: Round, themes: Sequence[Theme]) -> list[ThemeRanking]:
    """A checked resident ranks themes for their area (1st, 2nd, ...); ranking again replaces
    it."""
    require(rules.is_signed_in(actor), _("Log in to rank the priorities."))
    require_phase(round, Action.RANK_THEMES, _("Priorities are not being ranked now."))
    refusal = themes_rank_refusal(actor=actor, round=round)
    if refusal:
        raise NotAllowed(refusal, code="not_eligible")
    area = signed_in_user(actor).profile.home_area
    if not themes:
        raise DomainError(_("Choose at least one theme."), field="themes")
    if len({t.pk for t in themes}) != len(themes):
        raise DomainError(_("Each theme can only be ranked once."), field="themes")
    points = round.priority_points or list(DEFAULT_PRIORITY_POINTS)
    if len(themes) > len(points):
        raise DomainError(
            ngettext("Rank at most %(n)s theme.", "Rank at most %(n)s themes.", len(points))
            % {"n": len(points)},
            field="themes",
        )
    with transaction.atomic():
        ThemeRanking.objects.filter(round=round, user=signed_in_user(actor)).delete()
        return ThemeRanking.objects.bulk_create(
            ThemeRanking(
                round=round, area=area, user=signed_in_user(actor), theme=t, position=i + 1
            )
            for i, t in enumerate(themes)
        )

"""Writes for the Porto Alegre split of a round's budget between its areas (maths:
``pb.split.formula``), and for the thematic priorities that feed it: residents rank the
themes for their area."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from backend.accounts.models import Actor
from backend.accounts.rules import signed_in_user
from backend.errors import DomainError, NotAllowed
from pb import rules
from pb.areas.models import Area, Theme
from pb.models import AuditAction
from pb.phases import Action
from pb.rounds.models import Round, RoundArea
from pb.services.audit import audit
from pb.services.guards import require, require_phase
from pb.split import formula as split
from pb.split.models import DEFAULT_PRIORITY_POINTS, ThemeRanking
from pb.split.selectors import theme_priorities

#: The criteria a manager can use: the keys of the Porto Alegre preset, in its order.
SPLIT_CRITERIA: tuple[str, ...] = tuple(c.key for c in split.PORTO_ALEGRE_PRESET)


def _split_said(exc: split.SplitError) -> str:
    """A ``pb.split.formula.SplitError`` in the manager's language. Criterion names are
    translated too (the preset ones are in the catalogues; a name a manager typed stays as
    typed)."""
    params = {
        key: _(value) if key in ("name", "criterion", "what") and isinstance(value, str) else value
        for key, value in exc.params.items()
    }
    return _(exc.message) % params if params else _(exc.message)


def _owner_only() -> str:
    return _(
        "Only the round's owner (who created it) or an administrator can set, compute or "
        "publish the split as a whole."
    )


def split_area_values(*, round: Round, theme: Theme | None) -> dict[int, dict[str, int]]:
    """The raw figure of every criterion for every area of the round.

    - population: the area's population.
    - need: the area's need index for the theme (0-100); for the round as a whole, the mean
      of its need indexes over all themes, rounded down (0 when none is recorded).
    - priority (per theme only): the theme's position in the area's own ranking, from the
      points its residents gave each theme (1 = first; 0 = nobody ranked it).
    """
    from pb.areas.models import AreaNeed

    points = theme_priorities(round=round)
    themes = list(Theme.objects.values_list("pk", flat=True))
    needs: dict[int, dict[int, int]] = {}
    for need in AreaNeed.objects.filter(area__in=round.areas.all()):
        needs.setdefault(need.area_id, {})[need.theme_id] = need.need_index
    values: dict[int, dict[str, int]] = {}
    for area in round.areas.all():
        area_needs = needs.get(area.pk, {})
        row = {"population": area.population}
        if theme is not None:
            row["need"] = area_needs.get(theme.pk, 0)
            positions = split.priority_positions(
                {str(t): points.get(area.pk, {}).get(t, 0) for t in themes}
            )
            row["priority"] = positions[str(theme.pk)]
        else:
            indexes = list(area_needs.values())
            row["need"] = sum(indexes) // len(indexes) if indexes else 0
        values[area.pk] = row
    return values


def _split_inputs(
    round_: Round,
) -> tuple[tuple[split.Criterion, ...], list[split.AreaInput], Theme | None]:
    config = round_.split_config or {}
    if not config.get("criteria"):
        raise DomainError(_("Choose the split's criteria first."), field="criteria")
    theme_id = config.get("theme")
    theme = Theme.objects.filter(pk=theme_id).first() if theme_id is not None else None
    criteria = split.criteria_from_config(config["criteria"])
    values = split_area_values(round=round_, theme=theme)
    inputs = [
        split.AreaInput(area_id=str(area.pk), name=area.name, values=values[area.pk])
        for area in round_.areas.order_by("pk")
    ]
    return criteria, inputs, theme


def split_configure(
    *,
    actor: Actor,
    round: Round,
    criteria: list[dict[str, Any]],
    theme: Theme | None = None,
) -> Round:
    """Store the split's criteria, bands and weights (validated by the pure module)."""
    require(rules.can_change_round(actor, round), _owner_only())
    require_phase(round, Action.SPLIT, _("The split is fixed once voting opens."))
    try:
        parsed = split.criteria_from_config(criteria)
    except split.SplitError as exc:
        raise DomainError(_split_said(exc), field="criteria") from exc
    if not parsed:
        raise DomainError(_("Use at least one criterion."), field="criteria")
    keys = {c.key for c in parsed}
    unknown = keys - set(SPLIT_CRITERIA)
    if unknown:
        raise DomainError(
            _("Unknown criteria: %(join)s.") % {"join": ", ".join(sorted(unknown))},
            field="criteria",
        )
    if "priority" in keys and theme is None:
        raise DomainError(
            _("Residents rank priorities per theme: choose a theme to use the priority criterion."),
            field="theme",
        )
    with transaction.atomic():
        round.split_config = {
            "theme": theme.pk if theme else None,
            "criteria": split.criteria_to_config(parsed),
        }
        round.split_result = None
        round.split_published_at = None
        round.save(update_fields=["split_config", "split_result", "split_published_at"])
        audit(
            actor=actor, action=AuditAction.SPLIT_CONFIGURE, round=round, details=round.split_config
        )
    return round


def _store_split(
    round_: Round, result: split.SplitResult, *, actor: Actor, action: AuditAction, **audit_of: Any
) -> dict[str, Any]:
    """Store a computed (or overridden) split, give every area its amount, and record ``action``
    (``audit_of``: what else the record names). The split is unpublished until published again."""
    table = result.to_dict()
    with transaction.atomic():
        round_.split_result = table
        round_.split_published_at = None
        round_.save(update_fields=["split_result", "split_published_at"])
        for row in result.rows:
            RoundArea.objects.filter(round=round_, area_id=int(row.area_id)).update(
                allocation=row.amount, override_reason=row.reason if row.overridden else ""
            )
        audit(actor=actor, action=action, round=round_, **audit_of)
    return table


def _compute(round_: Round, *, field: str) -> split.SplitResult:
    """The split from the round's stored settings (``pb.split.formula.compute_split``)."""
    criteria, inputs, theme = _split_inputs(round_)
    try:
        return split.compute_split(
            round_.budget,
            criteria,
            inputs,
            currency=round_.currency,
            theme=theme.name if theme else None,
        )
    except split.SplitError as exc:
        raise DomainError(_split_said(exc), field=field) from exc


def split_compute(*, actor: Actor, round: Round) -> dict[str, Any]:
    """Compute the split from the stored settings and give every area its amount."""
    require(rules.can_change_round(actor, round), _owner_only())
    require_phase(round, Action.SPLIT, _("The split is fixed once voting opens."))
    result = _compute(round, field="criteria")
    return _store_split(
        round,
        result,
        actor=actor,
        action=AuditAction.SPLIT_COMPUTE,
        details={row.name: row.amount for row in result.rows},
    )


def split_override(
    *, actor: Actor, round: Round, area: Area, amount: int, reason: str
) -> dict[str, Any]:
    """Change one area's amount, with a public reason; the rest is shared out again."""
    if not rules.in_round(round, area):
        raise DomainError(_("That area is not taking part in this round."), field="area")
    require(
        rules.can_override_split(actor, round, area),
        _("Only the area's managers or the round's owner can change the area's amount."),
    )
    require_phase(round, Action.SPLIT, _("The split is fixed once voting opens."))
    if not reason.strip():
        raise DomainError(_("Write the public reason for changing this amount."), field="reason")
    if round.split_result is None:
        raise DomainError(_("Compute the split before changing an area's amount."))
    overrides = {
        str(r["area_id"]): (r["amount"], r["reason"])
        for r in round.split_result["rows"]
        if r.get("overridden")
    }
    overrides[str(area.pk)] = (amount, reason.strip())
    base = _compute(round, field="amount")
    try:
        result = split.apply_overrides(
            base,
            {k: v[0] for k, v in overrides.items()},
            reasons={k: v[1] for k, v in overrides.items()},
        )
    except split.SplitError as exc:
        raise DomainError(_split_said(exc), field="amount") from exc
    return _store_split(
        round,
        result,
        actor=actor,
        action=AuditAction.SPLIT_OVERRIDE,
        area=area,
        reason=reason,
        details={"amount": amount},
    )


def split_publish(*, actor: Actor, round: Round) -> Round:
    """Publish the split table on the round's page; it must happen before voting opens."""
    require(rules.can_change_round(actor, round), _owner_only())
    require_phase(round, Action.SPLIT, _("The split is fixed once voting opens."))
    if round.split_result is None:
        raise DomainError(_("Compute the split before publishing it."))
    round.split_published_at = timezone.now()
    round.save(update_fields=["split_published_at"])
    audit(actor=actor, action=AuditAction.SPLIT_PUBLISH, round=round)
    return round


# --- Thematic priorities ----------------------------------------------------------------


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

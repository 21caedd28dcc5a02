"""Writes for rounds: creating them, their rules, phase dates and moving through phases."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from itertools import pairwise
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from backend.accounts.models import Actor
from backend.accounts.rules import user_or_none
from backend.errors import Conflict, DomainError, NotAllowed
from pb import rules
from pb.areas.models import Area
from pb.counting.tasks import tally_round
from pb.events import round_moved_announce
from pb.models import AuditAction
from pb.money import MAX_MONEY
from pb.phases import Phase, is_closed, is_frozen, is_later, position
from pb.rounds.models import (
    MAX_SUPPORT_THRESHOLD,
    RULE_FIELDS,
    PhaseWindow,
    Round,
    RoundArea,
    RoundStyle,
)
from pb.services.audit import audit
from pb.services.guards import require


def _owner_only() -> str:
    return _(
        "Only the round's owner (who created it) or an administrator can change the round as "
        "a whole: its rules, budget, timetable and phases."
    )


def _check_threshold(fields: dict[str, Any]) -> None:
    threshold = fields.get("support_threshold")
    if threshold is not None and int(threshold) < 1:
        raise DomainError(
            _("The supports needed must be 1 or more; leave it empty to review every proposal."),
            field="support_threshold",
        )
    if threshold is not None and int(threshold) > MAX_SUPPORT_THRESHOLD:
        raise DomainError(
            _("The supports needed can be at most %(max)d.") % {"max": MAX_SUPPORT_THRESHOLD},
            field="support_threshold",
        )


def _check_budget_size(budget: int) -> None:
    if budget > MAX_MONEY:
        raise DomainError(_("That amount is too large."), field="budget")


def round_create(
    *,
    actor: Actor,
    name: str,
    budget: int,
    areas: Sequence[Area],
    description: str = "",
    style: str = RoundStyle.CITY,
    slug: str = "",
    **rules_fields: Any,
) -> Round:
    """A manager creates a round for areas they manage; it starts in preparation (draft)."""
    require(bool(areas), _("Choose at least one area for the round."))
    for area in areas:
        require(
            rules.can_manage_area(actor, area),
            _("You do not manage %(name)s.") % {"name": area.name},
        )
    if not name.strip():
        raise DomainError(_("Give the round a name."), field="name")
    if budget <= 0:
        raise DomainError(_("The budget must be more than zero."), field="budget")
    _check_budget_size(budget)
    _check_threshold(rules_fields)
    unknown = set(rules_fields) - set(RULE_FIELDS)
    if unknown:
        raise DomainError(_("Unknown settings: %(join)s.") % {"join": ", ".join(sorted(unknown))})
    base = slugify(slug or name)[:40] or "round"
    candidate, n = base, 1
    while Round.objects.filter(slug=candidate).exists():
        n += 1
        candidate = f"{base}-{n}"
    with transaction.atomic():
        round_ = Round.objects.create(
            name=name.strip(),
            slug=candidate,
            description=description,
            style=style,
            budget=budget,
            created_by=user_or_none(actor),
            **rules_fields,
        )
        RoundArea.objects.bulk_create(RoundArea(round=round_, area=a) for a in areas)
        audit(
            actor=actor, action=AuditAction.ROUND_CREATE, round=round_, details={"budget": budget}
        )
    return round_


def round_update_rules(*, actor: Actor, round: Round, reason: str = "", **changes: Any) -> Round:
    """Change budget, rules or eligibility. Refused once voting has opened (integrity)."""
    require(rules.can_change_round(actor, round), _owner_only())
    if is_frozen(round.phase):
        raise NotAllowed(
            _(
                "Voting has opened, so the budget, rules and eligibility are fixed and can no "
                "longer change."
            ),
            code="frozen",
        )
    unknown = set(changes) - set(RULE_FIELDS) - {"name", "description"}
    if unknown:
        raise DomainError(_("Unknown settings: %(join)s.") % {"join": ", ".join(sorted(unknown))})
    if "budget" in changes and int(changes["budget"]) <= 0:
        raise DomainError(_("The budget must be more than zero."), field="budget")
    if "budget" in changes:
        _check_budget_size(int(changes["budget"]))
    _check_threshold(changes)
    before = {k: _jsonable(getattr(round, k)) for k in changes}
    with transaction.atomic():
        for key, value in changes.items():
            setattr(round, key, value)
        round.save()
        audit(
            actor=actor,
            action=AuditAction.ROUND_UPDATE,
            round=round,
            reason=reason,
            details={"before": before, "after": {k: _jsonable(v) for k, v in changes.items()}},
        )
    return round


def _jsonable(value: Any) -> Any:
    return value if isinstance(value, int | str | bool | type(None)) else str(value)


def round_set_phase_windows(
    *,
    actor: Actor,
    round: Round,
    windows: Iterable[tuple[str, dt.datetime, dt.datetime]],
) -> list[PhaseWindow]:
    require(rules.can_change_round(actor, round), _owner_only())
    if is_frozen(round.phase):
        raise NotAllowed(_("Voting has opened, so the timetable is fixed."), code="frozen")
    rows = sorted(windows, key=lambda w: position(w[0]))
    for phase, starts, ends in rows:
        if ends <= starts:
            raise DomainError(
                _("The %(label)s phase must end after it starts.") % {"label": Phase(phase).label},
                field=phase,
            )
    for (p1, _s1, e1), (p2, s2, _e2) in pairwise(rows):
        if s2 < e1:
            raise DomainError(
                _("%(label)s starts before %(label2)s ends.")
                % {"label": Phase(p2).label, "label2": Phase(p1).label},
                field=p2,
            )
    with transaction.atomic():
        round.phase_windows.all().delete()
        created = PhaseWindow.objects.bulk_create(
            PhaseWindow(round=round, phase=p, starts_at=s, ends_at=e) for p, s, e in rows
        )
        audit(
            actor=actor,
            action=AuditAction.ROUND_TIMETABLE,
            round=round,
            details={p: [s.isoformat(), e.isoformat()] for p, s, e in rows},
        )
    return created


def _move_to(locked: Round, target: Phase, *, actor: Actor | None, reason: str, **how: Any) -> None:
    """Move a round, locked by the caller, into ``target``: record it (``how``: more details for
    the record) and, when the move closes the vote, start the count once it has committed."""
    previous = locked.phase
    locked.phase = target
    locked.save(update_fields=["phase"])
    audit(
        actor=actor,
        action=AuditAction.PHASE_ADVANCE,
        round=locked,
        reason=reason,
        details={"from": previous, "to": target, **how},
    )
    round_moved_announce(round_id=locked.pk)
    if not is_closed(previous) and is_closed(target):
        round_id = locked.pk
        transaction.on_commit(lambda: tally_round.delay(round_id))


def round_advance_phase(*, actor: Actor, round: Round, to_phase: str, reason: str) -> Round:
    """A manager moves a round forward by hand; it needs a written reason for the record."""
    require(rules.can_change_round(actor, round), _owner_only())
    if not reason.strip():
        raise DomainError(
            _("Say why you are moving the round on; it goes in the record."), field="reason"
        )
    target = Phase(to_phase)
    with transaction.atomic():
        locked = Round.objects.select_for_update().get(pk=round.pk)
        if not is_later(target, locked.phase):
            raise Conflict(
                _("The round is already in the “%(phase)s” phase; phases only move forward.")
                % {"phase": locked.get_phase_display()},
                field="to_phase",
            )
        _move_to(locked, target, actor=actor, reason=reason, by_hand=True)
    round.phase = target
    return locked


def round_advance_due_phases(*, now: dt.datetime | None = None) -> list[tuple[int, str]]:
    """Move every round whose dated phase has started into that phase.

    A round only moves forward, to the latest phase whose window has opened. Each round is
    locked (``select_for_update``) while it moves, so beat and a manager cannot both move it.
    """
    now = now or timezone.now()
    moved: list[tuple[int, str]] = []
    due = (
        PhaseWindow.objects.filter(starts_at__lte=now).values_list("round_id", flat=True).distinct()
    )
    for round_id in due:
        with transaction.atomic():
            round_ = Round.objects.select_for_update().get(pk=round_id)
            started = [Phase(w.phase) for w in round_.phase_windows.filter(starts_at__lte=now)]
            target = max(started, key=position)
            if not is_later(target, round_.phase):
                continue
            _move_to(round_, target, actor=None, reason="Scheduled date reached")
            moved.append((round_.pk, str(target)))
    return moved

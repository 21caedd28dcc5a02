"""Writes for rounds, proposals and reviews. Every staff action leaves an audit entry."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone

from pb.models import AuditEntry, PhaseWindow, Round
from pb.phases import ORDER, Phase


def audit(
    *,
    actor: Any,
    action: str,
    round: Round | None = None,  # noqa: A002 - the domain's word
    proposal: Any = None,
    area: Any = None,
    reason: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    return AuditEntry.objects.create(
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        action=action,
        round=round,
        proposal=proposal,
        area=area,
        reason=reason,
        details=details or {},
    )


def round_advance_due_phases(*, now: dt.datetime | None = None) -> list[tuple[int, str]]:
    """Move every round whose dated phase has started into that phase.

    A round only moves forward, to the latest phase whose window has opened. Each round is
    locked (``select_for_update``) while it moves, so beat and a manager cannot both move it.
    """
    now = now or timezone.now()
    moved: list[tuple[int, str]] = []
    due = (
        PhaseWindow.objects.filter(starts_at__lte=now)
        .values_list("round_id", flat=True)
        .distinct()
    )
    for round_id in due:
        with transaction.atomic():
            round_ = Round.objects.select_for_update().get(pk=round_id)
            started = [
                Phase(w.phase)
                for w in round_.phase_windows.filter(starts_at__lte=now)
            ]
            target = max(started, key=ORDER.index)
            if ORDER.index(target) <= ORDER.index(Phase(round_.phase)):
                continue
            previous = round_.phase
            round_.phase = target
            round_.save(update_fields=["phase"])
            audit(
                actor=None,
                action="phase.advance",
                round=round_,
                reason="Scheduled date reached",
                details={"from": previous, "to": target},
            )
            moved.append((round_.pk, str(target)))
    return moved

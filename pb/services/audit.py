"""The audit log: staff actions and phase changes, with who, why and what changed."""

from __future__ import annotations

from typing import Any

from backend.accounts.models import Actor
from backend.accounts.rules import user_or_none
from pb.areas.models import Area
from pb.models import AuditAction, AuditEntry
from pb.proposals.models import Proposal
from pb.rounds.models import Round


def audit(
    *,
    actor: Actor | None,
    action: AuditAction,
    round: Round | None = None,
    proposal: Proposal | None = None,
    area: Area | None = None,
    reason: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Record a staff action. A record about a proposal is also about its round and area."""
    if proposal is not None:
        round = proposal.round if round is None else round
        area = proposal.area if area is None else area
    return AuditEntry.objects.create(
        actor=user_or_none(actor),
        action=action,
        round=round,
        proposal=proposal,
        area=area,
        reason=reason,
        details=details or {},
    )

"""Kiosks at an event: staff unlock a device for a round and area, voters cast on it with a code."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import Actor
from backend.accounts.rules import signed_in_user
from backend.errors import DomainError, NotAllowed
from pb.areas.models import Area
from pb.models import AuditAction
from pb.phases import is_closed
from pb.rounds.models import Round
from pb.services.audit import audit
from pb.voting import rules
from pb.voting.models import Channel, KioskSession
from pb.voting.services.casting import Receipt, ballot_cast


def kiosk_unlock(
    *, actor: Actor, round: Round, area: Area, label: str = "", language: str = ""
) -> KioskSession:
    """Event staff unlock a device for one round and area, with the language voters see first."""
    if is_closed(round.phase):
        raise NotAllowed(_("Voting has closed."), code="wrong_phase")
    if not round.round_areas.filter(area=area).exists():
        raise DomainError(_("That area is not taking part in this round."), field="area")
    if not rules.can_run_event(actor, round, area):
        raise NotAllowed(_("Only event staff and the area's managers can unlock its kiosks."))
    language = language or settings.LANGUAGE_CODE
    if language not in dict(settings.LANGUAGES):
        raise DomainError(_("That language is not offered here."), field="language")
    with transaction.atomic():
        kiosk = KioskSession.objects.create(
            round=round,
            area=area,
            label=label.strip()[:60],
            language=language,
            unlocked_by=signed_in_user(actor),
        )
        audit(
            actor=actor,
            action=AuditAction.VOTING_KIOSK_UNLOCK,
            round=round,
            area=area,
            details={"kiosk": str(kiosk.pk), "label": kiosk.label},
        )
    return kiosk


def kiosk_lock(*, actor: Actor, kiosk: KioskSession) -> KioskSession:
    if not rules.can_run_event(actor, kiosk.round, kiosk.area):
        raise NotAllowed(_("Only event staff and the area's managers can lock its kiosks."))
    if kiosk.locked_at is None:
        kiosk.locked_at = timezone.now()
        kiosk.save(update_fields=["locked_at"])
        audit(
            actor=actor,
            action=AuditAction.VOTING_KIOSK_LOCK,
            round=kiosk.round,
            area=kiosk.area,
            details={"kiosk": str(kiosk.pk)},
        )
    return kiosk


def kiosk_cast(
    *, kiosk: KioskSession, voter_code: str, selections: Any, own_bid: int | None = None
) -> Receipt:
    """A voter casts at an unlocked kiosk with their code; the kiosk's area is the ballot's."""
    fresh = KioskSession.objects.select_related("round").get(pk=kiosk.pk)
    if not fresh.active:
        raise NotAllowed(_("This kiosk is locked. Ask a member of staff."), code="kiosk_locked")
    return ballot_cast(
        round=fresh.round,
        selections=selections,
        area_id=fresh.area_id,
        voter_code=voter_code,
        channel=Channel.KIOSK,
        own_bid=own_bid,
    )

"""Paper ballots keyed twice by different staff; differing keyings settled by a manager."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts import rules as base_rules
from backend.accounts.models import Actor
from backend.accounts.rules import signed_in_user
from backend.errors import Conflict, DomainError, NotAllowed
from pb.models import Area, AuditAction, Channel, Round
from pb.phases import Action
from pb.services.audit import audit
from pb.services.guards import require_phase
from pb.voting import rules
from pb.voting.models import PaperBallot, PaperEntry, PaperStatus
from pb.voting.selectors import ballot_spec, forget_turnout
from pb.voting.services.casting import ballot_write
from pb.voting.services.checking import check_selections


def _count_paper(paper: PaperBallot, entry: PaperEntry, today: dt.date) -> None:
    """Write the participation and ballot of a paper ballot whose reading is settled."""
    ballot_write(
        round_=paper.round,
        area_id=entry.area_id,
        channel=Channel.PAPER,
        selections=entry.selections,
        today=today,
    )
    forget_turnout(round_id=paper.round_id)


def paper_entry_add(
    *,
    actor: Actor,
    round: Round,
    serial: str,
    area: Area,
    selections: Any = None,
    spoilt: bool = False,
) -> PaperBallot:
    """Key one paper ballot. The first keying waits; the second, by someone else, decides.

    Two matching keyings count the ballot (or record it spoilt); two differing keyings go to
    the reconciliation queue. The paper ballot row is locked (``select_for_update``) while the
    second keying is compared, so two people keying at once cannot both count it.
    """
    if not rules.can_run_event(actor, round, area):
        raise NotAllowed(_("Only event staff and the area's managers key its paper ballots."))
    require_phase(
        round,
        Action.KEY_PAPER,
        _("Paper ballots are keyed while voting is open and until the count."),
    )
    serial = serial.strip().upper()
    if not serial:
        raise DomainError(_("Type the number printed on the ballot paper."), field="serial")
    if spoilt:
        canonical: dict[str, int] = {}
        ballot_spec(round=round, area_id=area.pk)  # the area must still be in the round
    else:
        canonical = check_selections(
            ballot_spec(round=round, area_id=area.pk), selections or {}, own_bid=None
        )
    today = timezone.localdate()
    with transaction.atomic():
        paper, _created = PaperBallot.objects.get_or_create(round=round, serial=serial)
        paper = PaperBallot.objects.select_for_update().select_related("round").get(pk=paper.pk)
        entries = list(paper.entries.all())
        if paper.status != PaperStatus.WAITING:
            raise Conflict(
                _("Ballot %(serial)s has been keyed twice already (%(status)s).")
                % {"serial": serial, "status": paper.get_status_display()},
                field="serial",
            )
        if any(e.keyed_by_id == actor.pk for e in entries):
            raise Conflict(
                _(
                    "You keyed ballot %(serial)s already; a different member of staff must key "
                    "it the second time."
                )
                % {"serial": serial},
                field="serial",
            )
        entry = PaperEntry.objects.create(
            paper_ballot=paper,
            area=area,
            keyed_by=signed_in_user(actor),
            selections=canonical,
            spoilt=spoilt,
        )
        if entries:
            first = entries[0]
            if first.same_as(entry):
                paper.status = PaperStatus.SPOILT if spoilt else PaperStatus.COUNTED
                if not spoilt:
                    _count_paper(paper, entry, today)
            else:
                paper.status = PaperStatus.MISMATCH
            paper.save(update_fields=["status"])
    return paper


PAPER_DECISIONS = ("first", "second", "spoilt")


def _require_reconciler(
    actor: Actor, paper: PaperBallot, entries: list[PaperEntry] | None = None
) -> None:
    if entries is None:
        entries = list(paper.entries.select_related("area"))
    if base_rules.is_signed_in(actor) and any(e.keyed_by_id == actor.pk for e in entries):
        raise NotAllowed(
            _(
                "You keyed this ballot, so a different manager must settle it: two people "
                "look at every disputed paper."
            ),
            code="same_person",
        )
    areas = list({e.area_id: e.area for e in entries}.values())
    if not rules.can_reconcile(actor, paper.round, areas, [e.keyed_by_id for e in entries]):
        raise NotAllowed(_("Only the managers of the ballot's area decide differing papers."))


def paper_reconcile(*, actor: Actor, paper: PaperBallot, decision: str, reason: str) -> PaperBallot:
    """A manager settles a paper ballot whose keyings differ: one reading, or spoilt, and why.

    The manager must manage every area the keyings name, and must not have keyed the ballot
    themselves: a dispute is settled by a second pair of eyes.
    """
    _require_reconciler(actor, paper)
    require_phase(
        paper.round,
        Action.KEY_PAPER,
        _("Paper ballots are settled while voting is open and until the count."),
    )
    if decision not in PAPER_DECISIONS:
        raise DomainError(_("Choose one of the two readings, or spoilt."), field="decision")
    if not reason.strip():
        raise DomainError(_("Say why; it goes in the record."), field="reason")
    today = timezone.localdate()
    with transaction.atomic():
        locked = PaperBallot.objects.select_for_update().select_related("round").get(pk=paper.pk)
        if locked.status != PaperStatus.MISMATCH:
            raise Conflict(_("This paper ballot has already been settled."))
        entries = list(locked.entries.select_related("area"))
        _require_reconciler(actor, locked, entries)
        chosen = None if decision == "spoilt" else entries[0 if decision == "first" else 1]
        if chosen is None or chosen.spoilt:
            locked.status = PaperStatus.SPOILT
        else:
            locked.status = PaperStatus.RESOLVED
            _count_paper(locked, chosen, today)
        locked.decision = decision
        locked.decision_reason = reason.strip()
        locked.decided_by = signed_in_user(actor)
        locked.decided_at = timezone.now()
        locked.save()
        audit(
            actor=actor,
            action=AuditAction.VOTING_PAPER_RECONCILE,
            round=locked.round,
            reason=reason.strip(),
            details={"serial": locked.serial, "decision": decision},
        )
    return locked

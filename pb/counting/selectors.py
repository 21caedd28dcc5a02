"""Reads of stored counts."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from django.db.models import Exists, OuterRef, Q, Subquery
from django.utils import timezone

from pb.counting.models import Tally
from pb.counting.result import CountResult
from pb.counting.unspent import Policy, Unspent, unspent_money
from pb.models import AuditAction, AuditEntry
from pb.phases import Phase, has_results
from pb.rounds.models import Round, RoundStyle


def latest_tallies(*, round: Round) -> list[Tally]:
    """The newest tally of each counted scope: a decision day's single pot, then areas by name."""
    latest: dict[int | None, Tally] = {}
    for t in Tally.objects.filter(round=round).select_related("area").order_by("created_at", "pk"):
        latest[t.area_id] = t
    return sorted(
        latest.values(), key=lambda t: (t.area is not None, t.area.name if t.area else "")
    )


def tally_result(tally: Tally) -> CountResult:
    """The one way to read a stored count (``Tally.outcome``)."""
    return CountResult.from_json(tally.outcome)


def count_failure(*, round: Round) -> AuditEntry | None:
    """While a round waits in counting, the newest record of its count failing (what is missing
    for a manager to fix); ``None`` otherwise."""
    if round.phase != Phase.COUNTING:
        return None
    return (
        AuditEntry.objects.filter(round=round, action=AuditAction.ROUND_COUNT_FAILED)
        .order_by("-at")
        .first()
    )


def round_unspent(*, round: Round, tallies: list[Tally] | None = None) -> Unspent | None:
    """Where the money the areas' counts left unspent went, once the round has its results
    (every area counted); ``None`` before. A decision day's one pot has no other area to pass
    its leftover to, so it is carried whatever the setting says.

    Derived from the stored counts and the round's setting (fixed since voting opened), so the
    count page, the outcome page, the report and each proposal's page say the same."""
    if not has_results(round.phase):
        return None
    tallies = latest_tallies(round=round) if tallies is None else tallies
    if not tallies:
        return None
    policy = round.unspent_money if round.style == RoundStyle.CITY else Policy.CARRY
    return unspent_money(
        [(t.area.name if t.area else round.name, tally_result(t)) for t in tallies], policy
    )


class ReceiptStatus(StrEnum):
    COUNTED = "counted"
    WAITING = "waiting"
    UNKNOWN = "unknown"


def receipt_status(*, round: Round, code: str) -> ReceiptStatus:
    """Whether the ballot behind a receipt code is in the count's table (``COUNTED``), cast
    and waiting to be sealed into it (``WAITING``), or unknown here. Never what it chose."""
    from pb.voting.models import PendingBallot, Receipt
    from pb.voting.services.codes import receipt_hash

    digest = receipt_hash(code)
    if Receipt.objects.filter(round=round, receipt_hash=digest).exists():
        return ReceiptStatus.COUNTED
    if PendingBallot.objects.filter(round=round, receipt_hash=digest).exists():
        return ReceiptStatus.WAITING
    return ReceiptStatus.UNKNOWN


def rounds_stalled_in_counting(*, older_than: dt.timedelta) -> list[int]:
    """Rounds still in counting with nothing done to them for ``older_than``: their count was
    lost (a broker restart dropped the task) or is waiting on nothing.

    Left out: rounds whose last record is a failed count (missing inputs wait for a manager,
    whose fix writes a newer record) and rounds with paper ballots still to settle (the count
    waits for them on purpose).
    """
    from pb.voting.models import PaperBallot, PaperStatus

    latest = AuditEntry.objects.filter(round=OuterRef("pk")).order_by("-at", "-pk")
    paper_pending = PaperBallot.objects.filter(
        round=OuterRef("pk"), status__in=[PaperStatus.WAITING, PaperStatus.MISMATCH]
    )
    cutoff = timezone.now() - older_than
    return list(
        Round.objects.filter(phase=Phase.COUNTING)
        .annotate(
            last_at=Subquery(latest.values("at")[:1]),
            last_action=Subquery(latest.values("action")[:1]),
        )
        .exclude(Exists(paper_pending))
        # A NULL annotation (no record yet) would make a plain exclude() drop the round.
        .filter(Q(last_action__isnull=True) | ~Q(last_action=AuditAction.ROUND_COUNT_FAILED))
        .filter(Q(last_at__lt=cutoff) | Q(last_at__isnull=True, created_at__lt=cutoff))
        .order_by("pk")
        .values_list("pk", flat=True)
    )

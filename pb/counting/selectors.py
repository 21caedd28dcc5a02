"""Reads of stored counts."""

from __future__ import annotations

from enum import StrEnum

from pb.counting.result import CountResult
from pb.models import Round, Tally


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

"""Sealing: cast ballots move from the pending table to the table the count reads, in batches.

Why: a cast writes the *who* (``Participation``) and the *what* in one transaction so that a
201 is durable; on PostgreSQL that stamps both rows with the same ``xmin`` and puts them side
by side on disk, and on SQLite gives them neighbouring rowids. Whoever can read the database
could then join every named voter to their choices. Sealing breaks every such join:

- a batch holds at least ``MIN_BATCH`` ballots of one round, area and channel (a participation
  says all three), so each sealed ballot could be any of at least 20 voters; what remains when
  voting closes is sealed together with as many of its area and channel's sealed ballots, taken
  back at random, as make 20;
- the batch is written in one transaction of its own (one ``xmin`` for all of it), in an order
  drawn from the operating system's random source, with fresh random ids and the batch's day
  as the only date; the receipts of the batch are shuffled separately into their own table;
- the pending rows are deleted in that transaction, and the task that sealed them vacuums the
  pending table afterwards, so their bytes do not linger in the live table (docs/secrecy.md
  says what the WAL and backups keep and for how long).

A batch is sealed by ``pb.tasks.seal_ballots``, enqueued when a round's pending count reaches
``MIN_BATCH`` and run every minute by beat as a backstop, and by the count itself, which seals
everything left before it reads a ballot (``seal_all``).
"""

from __future__ import annotations

import secrets
import uuid
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from pb.phases import Action, allows
from pb.rounds.models import Round
from pb.voting.models import Ballot, PendingBallot, Receipt

#: The fewest ballots a batch holds while voting is open: each sealed ballot could have been
#: cast by any of at least this many voters.
MIN_BATCH = 20

_random = secrets.SystemRandom()


def shuffled(rows: Iterable[Any]) -> list[Any]:
    """``rows`` in an order drawn from the OS's random source (not Python's seeded PRNG)."""
    out = list(rows)
    _random.shuffle(out)
    return out


def _voting_open(phase: str) -> bool:
    return allows(phase, Action.VOTE) or allows(phase, Action.KEY_PAPER)


Row = tuple[Any, int, str, Any, str | None]  # pending id, area, channel, selections, receipt


def _take_back(round_id: int, area_id: int, channel: str, n: int) -> list[Row]:
    """Up to ``n`` already sealed ballots of one cell, drawn at random and deleted, to be sealed
    again with a final remainder so that it too hides among at least ``MIN_BATCH``. Their
    receipts stay where they are."""
    taken = list(
        Ballot.objects.filter(round_id=round_id, area_id=area_id, channel=channel)
        .order_by("?")
        .values_list("id", "selections")[:n]
    )
    Ballot.objects.filter(id__in=[pk for pk, _s in taken]).delete()
    return [(None, area_id, channel, selections, None) for _pk, selections in taken]


def ballots_seal(*, round_id: int, final: bool = False) -> int:
    """Seal the round's pending ballots; returns how many pending ballots were sealed.

    Ballots are sealed by *cell*, one area and channel of the round, because the participation
    says both: a lone kiosk ballot among 19 online ones would stand out. A cell is sealed once
    it holds ``MIN_BATCH`` ballots, or whatever it holds when ``final`` (voting has closed and
    the count needs everything); a final remainder smaller than ``MIN_BATCH`` takes back, at
    random, enough of the cell's sealed ballots to be sealed with (``_take_back``). Every cell
    ready at once goes in one transaction.

    The round row is locked ``FOR NO KEY UPDATE``, so two sealers take turns while casts (whose
    foreign key only needs ``FOR KEY SHARE``) go on; ballots cast meanwhile stay pending.
    """
    with transaction.atomic():
        locked = (
            Round.objects.select_for_update(no_key=True)
            .filter(pk=round_id)
            .values_list("pk", flat=True)
            .first()
        )
        if locked is None:
            return 0
        cells: dict[tuple[int, str], list[Row]] = defaultdict(list)
        for row in PendingBallot.objects.filter(round_id=round_id).values_list(
            "id", "area_id", "channel", "selections", "receipt_hash"
        ):
            cells[(row[1], row[2])].append(row)
        ready = {key: rows for key, rows in cells.items() if final or len(rows) >= MIN_BATCH}
        if not ready:
            return 0
        if connection.vendor == "sqlite":
            # Deleted rows' bytes are otherwise left in SQLite's free pages.
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA secure_delete = ON")
        pending = [row for rows in ready.values() for row in rows]
        PendingBallot.objects.filter(id__in=[row[0] for row in pending]).delete()
        batch = list(pending)
        for (area_id, channel), rows in ready.items():
            if len(rows) < MIN_BATCH:
                batch += _take_back(round_id, area_id, channel, MIN_BATCH - len(rows))
        day = timezone.localdate()
        # One INSERT each, in shuffled order: the rows land on disk (and get SQLite rowids) in
        # that order, which is unrelated to the order of the casts.
        Ballot.objects.bulk_create(
            [
                Ballot(
                    id=uuid.uuid4(),
                    round_id=round_id,
                    area_id=area_id,
                    channel=channel,
                    selections=selections,
                    sealed_on=day,
                )
                for _id, area_id, channel, selections, _receipt in shuffled(batch)
            ]
        )
        Receipt.objects.bulk_create(
            [
                Receipt(id=uuid.uuid4(), round_id=round_id, area_id=area_id, receipt_hash=receipt)
                for _id, area_id, _channel, _selections, receipt in shuffled(pending)
                if receipt is not None
            ]
        )
    return len(pending)


def seal_all(*, round: Round) -> int:
    """Seal everything the round still has pending: the count calls this before reading."""
    sealed = ballots_seal(round_id=round.pk, final=True)
    if sealed:
        pending_vacuum()
    return sealed


def rounds_due() -> list[tuple[int, bool]]:
    """Rounds with something to seal: ``(round id, final)``. A cell (area and channel) with at
    least ``MIN_BATCH`` pending while voting is open; anything pending once it has closed."""
    pending = (
        PendingBallot.objects.values("round_id", "round__phase", "area_id", "channel")
        .annotate(n=Count("id"))
        .order_by("round_id")
    )
    due: dict[int, bool] = {}
    for row in pending:
        final = not _voting_open(row["round__phase"])
        if final or row["n"] >= MIN_BATCH:
            due[row["round_id"]] = final
    return sorted(due.items())


def pending_vacuum() -> None:
    """Reclaim the deleted pending rows' space on PostgreSQL so their bytes do not stay in the
    live table until autovacuum gets round to it. ``VACUUM`` cannot run in a transaction, so
    this is a no-op inside one (tests, or a caller's ``atomic`` block)."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return
    table = connection.ops.quote_name(PendingBallot._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM {table}")

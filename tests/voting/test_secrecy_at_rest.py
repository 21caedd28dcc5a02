"""A database reader cannot pair a sealed ballot with the person who cast it (issue 12).

Ballots are cast through the real paths (the service for accounts, the API for voter codes),
the vote closes and is counted, and then the test tries every join an attacker with read access
would try: the shared ``xmin`` of one transaction, physical order (``ctid``, or SQLite's rowid)
against the order of the participations, ids, timestamps, and receipts against ballots. Each
voter's ballot is unique (their number of points for Trees), so the test knows the true pairing
and measures how much each ordering reveals of it.

On the code before sealing, the first join alone named every voter's choices.
"""

from __future__ import annotations

import math
import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from pb.counting.services import round_count
from pb.voting.models import Ballot, Participation
from pb.voting.services.casting import ballot_cast
from pb.voting.services.codes import receipt_hash
from tests.conftest import need
from tests.factories import UserFactory
from tests.voting.conftest import VotingWorld

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

ACCOUNTS = 40
CODES = 25  # 65 in all: three batches of 20 while voting, 5 left for the count to seal
POINTS = 100

#: |z| above this would happen by chance about once in 16,000 runs; a leak gives z ≈ 6-10.
Z_LIMIT = 4.0


def spearman(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Rank correlation of two sequences without ties: 1 same order, -1 reversed, 0 unrelated."""
    n = len(xs)
    rx = {v: i for i, v in enumerate(sorted(xs))}
    ry = {v: i for i, v in enumerate(sorted(ys))}
    d2 = sum((rx[x] - ry[y]) ** 2 for x, y in zip(xs, ys, strict=True))
    return 1 - 6 * d2 / (n * (n * n - 1))


def pooled_z(groups: list[tuple[list[float], list[float]]]) -> float:
    """Within-batch rank correlations pooled into one z score (normal under no relation):
    each batch's rho times sqrt(n - 1) is about N(0, 1) when its order is random."""
    scored = [(spearman(xs, ys), len(xs)) for xs, ys in groups if len(xs) >= 3]
    assert scored, "no batch large enough to measure"
    return sum(rho * math.sqrt(n - 1) for rho, n in scored) / math.sqrt(len(scored))


def physical(table: str) -> list[tuple[Any, ...]]:
    """``(id, transaction id or None, place)`` of every row of ``table``, in the order on disk."""
    if connection.vendor == "postgresql":
        sql = f"SELECT id::text, xmin::text, ctid::text FROM {table} ORDER BY ctid"  # noqa: S608
    else:
        sql = f"SELECT id, NULL, rowid FROM {table} ORDER BY rowid"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql)
        # SQLite keeps a UUID as 32 hex digits: compare in the ORM's form.
        return [(str(uuid.UUID(str(i))), x, n) for n, (i, x, _c) in enumerate(cursor.fetchall())]


@pytest.fixture
def voted() -> dict[str, Any]:
    """65 named voters cast unique ballots (voter i gives Trees i points), then the count."""
    world = VotingWorld(ballot_type="cumulative", points_total=POINTS)
    voters = []
    for i in range(ACCOUNTS):
        user = UserFactory(email=f"voter{i}@example.org")
        user.profile.home_area = world.north
        user.profile.birth_year = 1970
        user.profile.verified = True
        user.profile.save()
        voters.append(user)
    codes = world.codes(CODES, area=world.north)
    receipts: dict[int, str] = {}
    by_participation: dict[int, int] = {}  # participation id -> the voter's number (points)
    for i, user in enumerate(voters, start=1):
        receipt = ballot_cast(
            round=world.round,
            voter=user,
            selections={str(world.trees.pk): i, str(world.benches.pk): POINTS - i},
        )
        receipts[i] = receipt.code
        by_participation[Participation.objects.get(voter=user).pk] = i
    for i, code in enumerate(codes, start=ACCOUNTS + 1):
        response = APIClient().post(
            f"/api/v1/rounds/{world.round.pk}/ballots/",
            {
                "voter_code": code,
                "selections": {str(world.trees.pk): i, str(world.benches.pk): POINTS - i},
            },
            format="json",
        )
        assert response.status_code == 201, response.json()
        receipts[i] = response.json()["receipt"]
        by_participation[Participation.objects.latest("pk").pk] = i
    world.set(phase="counting")
    round_count(round=world.round)
    return {"world": world, "receipts": receipts, "by_participation": by_participation}


def _ballot_number(world: VotingWorld) -> dict[str, int]:
    """Ballot id -> the voter's number, read from the choices (which the test made unique)."""
    return {
        str(pk): selections[str(world.trees.pk)]
        for pk, selections in Ballot.objects.values_list("pk", "selections")
    }


def test_no_sealed_ballot_shares_a_transaction_id_with_a_participation(voted):
    need(connection.vendor == "postgresql", "PostgreSQL (set DATABASE_URL)")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pb_participation p JOIN pb_ballot b ON b.xmin = p.xmin"
        )
        assert cursor.fetchone()[0] == 0
    assert Ballot.objects.count() == ACCOUNTS + CODES


def test_sealed_ballots_come_in_batches_of_twenty_and_the_last_five_hide_among_twenty(voted):
    need(connection.vendor == "postgresql", "PostgreSQL (set DATABASE_URL)")
    sizes: dict[int, int] = defaultdict(int)
    for _id, xmin, _place in physical("pb_ballot"):
        sizes[int(xmin)] += 1
    # Three batches sealed while voting (the 20th, 40th and 60th casts); the count sealed the
    # last five with fifteen sealed ballots taken back at random, so they too hide among 20.
    assert len(sizes) == 4 and sum(sizes.values()) == ACCOUNTS + CODES
    assert sizes[max(sizes)] == 20


def test_nothing_is_left_pending_and_the_pending_table_is_emptied_on_disk(voted):
    from pb.voting.models import PendingBallot

    assert not PendingBallot.objects.exists()
    if connection.vendor == "postgresql":
        # VACUUM truncated the pending table: the cast rows' bytes are gone from the live files.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_relation_size('pb_pendingballot')")
            assert cursor.fetchone()[0] == 0


def _batches(rows: list[tuple[Any, ...]]) -> dict[Any, list[tuple[Any, ...]]]:
    """Rows grouped by the transaction that sealed them (PostgreSQL's ``xmin``). SQLite has no
    xmin, but a batch's rows take consecutive rowids, 20 to a batch in this test."""
    groups: dict[Any, list[tuple[Any, ...]]] = defaultdict(list)
    for row in rows:
        groups[row[1] if row[1] is not None else row[2] // 20].append(row)
    return groups


def test_the_order_on_disk_says_nothing_about_the_order_of_the_casts(voted):
    world = voted["world"]
    number = _ballot_number(world)
    cast_rank = {n: rank for rank, n in enumerate(sorted(voted["by_participation"].values()))}
    # Participations were written in the voters' order: their ids, xmins and places agree.
    assert sorted(voted["by_participation"]) == [
        p for p, _n in sorted(voted["by_participation"].items(), key=lambda kv: kv[1])
    ]
    groups = []
    for rows in _batches(physical("pb_ballot")).values():
        places = [float(place) for _id, _x, place in rows]
        casts = [float(cast_rank[number[pk]]) for pk, _x, _p in rows]
        groups.append((places, casts))
    assert abs(pooled_z(groups)) < Z_LIMIT


def test_ballot_ids_are_random_and_none_is_a_cast_time_id(voted):
    world = voted["world"]
    number = _ballot_number(world)
    groups = []
    for rows in _batches(physical("pb_ballot")).values():
        ids = [float(int(pk.replace("-", ""), 16)) for pk, _x, _p in rows]
        casts = [float(number[pk]) for pk, _x, _p in rows]
        groups.append((ids, casts))
    assert abs(pooled_z(groups)) < Z_LIMIT
    participation_ids = {str(p) for p in Participation.objects.values_list("pk", flat=True)}
    assert not participation_ids & set(number)


def test_sealed_rows_carry_no_time_finer_than_the_batch_day(voted):
    from django.db import models

    from pb.voting.models import Receipt

    for model in (Ballot, Receipt):
        kinds = {type(f) for f in model._meta.concrete_fields}
        assert models.DateTimeField not in kinds and models.TimeField not in kinds
    day = {str(pk): d for pk, d in Ballot.objects.values_list("pk", "sealed_on")}
    for rows in _batches(physical("pb_ballot")).values():
        assert len({day[pk] for pk, _x, _p in rows}) == 1


def test_a_receipt_row_does_not_point_to_its_ballot(voted):
    from pb.voting.models import Receipt

    world = voted["world"]
    number = _ballot_number(world)
    hashes = {receipt_hash(code): n for n, code in voted["receipts"].items()}
    receipt_rows = {
        str(pk): hashes[h] for pk, h in Receipt.objects.values_list("pk", "receipt_hash")
    }
    assert sorted(receipt_rows.values()) == sorted(number.values())
    assert not any(f.name == "receipt_hash" for f in Ballot._meta.get_fields())
    ballot_place = {number[pk]: place for pk, _x, place in physical("pb_ballot")}
    groups = []
    for rows in _batches(physical("pb_receipt")).values():
        places = [float(place) for _id, _x, place in rows]
        ballots = [float(ballot_place[receipt_rows[pk]]) for pk, _x, _p in rows]
        groups.append((places, ballots))
    assert abs(pooled_z(groups)) < Z_LIMIT

"""A database reader cannot pair a name ticked at a paper desk with what that voter's paper said
once the round is counted (issue 12).

At a paper desk, staff tick the resident on the register (a participation, in the order of
ticking, and an audit entry with its time) and hand over a paper; the paper is keyed twice,
each keying a row with what it said, who keyed it and when. Here every paper is keyed as soon
as it comes back, the worst case for secrecy: the ticks and the keyings then line up one to one.
Each voter's paper is unique (their number of points for Trees), so the test knows the true
pairing. Before the count it checks that a settled paper's keyings no longer say what was read;
after the count it tries every join a reader has left: the keyings, the whole database searched
for a voter's choices, the papers' ids, places on disk and times against the order of keying.

On the code before, the first join (the k-th name ticked, the k-th paper keyed) named every
ticked voter's choices, before the count and after it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from feedback.selectors import identified_ballots
from pb.counting.services import round_count
from pb.models import AuditAction, AuditEntry
from pb.services.register import match_key
from pb.voting.alphabet import random_code
from pb.voting.models import PaperBallot, PaperEntry, Participation, RegisterEntry
from pb.voting.selectors import paper_counts, turnout
from pb.voting.services.desk import desk_tick
from pb.voting.services.paper import paper_entry_add, paper_keyings_clear, paper_reconcile
from tests.voting.conftest import VotingWorld
from tests.voting.test_secrecy_at_rest import Z_LIMIT, spearman

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

VOTERS = 30  # the last is spoilt, the one before is keyed two ways and settled by a manager
POINTS = 100


def _name(i: int) -> str:
    return f"Resident {'abcdefghijklmnopqrstuvwxyz'[i % 26]}{i}"


@pytest.fixture
def desk(clock: Any) -> dict[str, Any]:
    """Thirty residents ticked at a paper desk, a minute apart, each paper keyed twice as soon
    as it came back; voter i gives Trees i points. Then the count."""
    world = VotingWorld(ballot_type="cumulative", points_total=POINTS)
    trees, benches = str(world.trees.pk), str(world.benches.pk)
    serials: dict[str, int] = {}  # serial -> voter number
    for i in range(1, VOTERS + 1):
        name = _name(i)
        entry = RegisterEntry.objects.create(
            area=world.north,
            name=name,
            postcode="N1 1AA",
            birth_year=1950 + i,
            match_key=match_key(name, "N1 1AA", 1950 + i),
        )
        desk_tick(actor=world.staff, round=world.round, entry=entry, channel="paper")
        clock.advance(seconds=40)
        serial = random_code(8)
        serials[serial] = i
        spoilt = i == VOTERS
        for who, points in ((world.staff, i), (world.staff2, i if i != VOTERS - 1 else i + 1)):
            paper_entry_add(
                actor=who,
                round=world.round,
                serial=serial,
                area=world.north,
                selections=None if spoilt else {trees: points, benches: POINTS - points},
                spoilt=spoilt,
            )
        clock.advance(seconds=20)
    [disputed] = PaperBallot.objects.filter(status="mismatch")
    paper_reconcile(actor=world.manager, paper=disputed, decision="first", reason="Looked again")
    before = {
        "counts": paper_counts(round=world.round),
        "spoilt": turnout(round=world.round, fresh=True)["spoilt_paper"],
        "identified": identified_ballots(round=world.round),
        "attack": _line_up_ticks_and_keyings(world),
        "grep": _grep_database(world, skip=()),
    }
    world.set(phase="counting")
    clock.advance(hours=2)
    round_count(round=world.round)
    return {"world": world, "serials": serials, "before": before}


def _line_up_ticks_and_keyings(world: VotingWorld) -> dict[int, int]:
    """The reader's join: the k-th name ticked had the k-th paper keyed. Register entry ->
    the points for Trees read off that paper."""
    ticks = list(
        Participation.objects.filter(round=world.round, desk_tick=True)
        .order_by("pk")
        .values_list("register_entry_id", flat=True)
    )
    firsts: dict[int, dict[str, int]] = {}
    for paper_id, selections in PaperEntry.objects.order_by("pk").values_list(
        "paper_ballot_id", "selections"
    ):
        firsts.setdefault(paper_id, selections)
    keyed = list(firsts.values())
    return {
        entry: keyed[k].get(str(world.trees.pk), 0)
        for k, entry in enumerate(ticks)
        if k < len(keyed)
    }


def _truth(world: VotingWorld) -> dict[int, int]:
    """Register entry -> the points its resident gave Trees (0 for the spoilt paper)."""
    return {
        pk: (int(name.split()[-1][1:]) if int(name.split()[-1][1:]) != VOTERS else 0)
        for pk, name in RegisterEntry.objects.values_list("pk", "name")
    }


def _grep_database(world: VotingWorld, skip: tuple[str, ...] = ("pb_ballot",)) -> set[str]:
    """Every table (but ``skip``) with a row holding a voter's exact choices, as a reader who
    greps a dump would find them: each row read as text, searched for ``"<trees>": i`` beside
    ``"<benches>": 100 - i`` (voter i's choices)."""
    trees, benches = world.trees.pk, world.benches.pk
    found: set[str] = set()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1"
        )
        tables = [t for (t,) in cursor.fetchall() if t not in skip]
        for table in tables:
            quoted = connection.ops.quote_name(table)
            for i in range(1, VOTERS):
                # In a row's text a JSON value's quotes are doubled: ""12"": 7.
                cursor.execute(
                    f"SELECT 1 FROM {quoted} t WHERE t::text ~ %s AND t::text ~ %s LIMIT 1",  # noqa: S608
                    [f'[^0-9]"*{trees}"*: {i}[^0-9]', f'[^0-9]"*{benches}"*: {POINTS - i}[^0-9]'],
                )
                if cursor.fetchone():
                    found.add(table)
                    break
    return found


def _physical_papers() -> list[tuple[int, str, str]]:
    """``(id, serial, place)`` of every paper row, in the order on disk."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, serial, ctid::text FROM pb_paperballot ORDER BY ctid")
        return list(cursor.fetchall())


# --- While the keyings exist: the attack works ------------------------------------------------


def test_before_the_count_a_settled_papers_keyings_no_longer_say_what_was_read(
    desk: dict[str, Any],
) -> None:
    """The keyings still line up with the ticks until the count (docs/secrecy.md), but once a
    paper is settled they hold who keyed it and when, not what it said: the join reads nothing.
    Until then the choices are only in the ballots still waiting to be sealed, as for any cast."""
    world = desk["world"]
    lined_up = desk["before"]["attack"]
    truth = _truth(world)
    assert len(lined_up) == VOTERS  # the keyings are there, in the order of the ticks
    assert not any(lined_up[e] == truth[e] for e in lined_up if truth[e])
    assert desk["before"]["grep"] <= {"pb_ballot", "pb_pendingballot"}


# --- After the count ------------------------------------------------------------------------


def test_after_the_count_no_keying_is_left_and_its_table_is_emptied_on_disk(
    desk: dict[str, Any],
) -> None:
    assert not PaperEntry.objects.exists()
    assert _line_up_ticks_and_keyings(desk["world"]) == {}
    with connection.cursor() as cursor:
        # VACUUM truncated the keyings' table: their bytes are gone from the live files.
        cursor.execute("SELECT pg_relation_size('pb_paperentry')")
        assert cursor.fetchone()[0] == 0


def test_no_table_but_the_sealed_ballots_holds_any_voters_choices(desk: dict[str, Any]) -> None:
    """Searching every row of every table for each voter's choices finds only the sealed
    ballots, which are shuffled in batches and tie to nobody (test_secrecy_at_rest)."""
    world = desk["world"]
    assert _grep_database(world, skip=()) == {"pb_ballot"}


def test_the_papers_ids_and_places_on_disk_say_nothing_of_the_order_of_keying(
    desk: dict[str, Any],
) -> None:
    """A paper's serial is random and says nothing; but its row's id and place were in the
    order of keying, which followed the order of ticking. Written again in a random order, they
    do not: rank correlation with the order of keying is what chance gives."""
    serials = desk["serials"]
    rows = _physical_papers()
    assert len(rows) == VOTERS
    keyed = [float(serials[serial]) for _id, serial, _place in rows]
    places = [float(n) for n in range(len(rows))]
    ids = [float(pk) for pk, _serial, _place in rows]
    for order in (places, ids):
        z = spearman(order, keyed) * (len(rows) - 1) ** 0.5
        assert abs(z) < Z_LIMIT


def test_the_papers_keep_no_time_finer_than_the_day(desk: dict[str, Any]) -> None:
    for created, decided in PaperBallot.objects.values_list("created_at", "decided_at"):
        for moment in (created, decided):
            if moment is not None:
                assert timezone.localtime(moment).time() == dt.time(0, 0)
    assert PaperBallot.objects.exclude(decided_at=None).count() == 1  # the settled dispute


def test_the_counts_are_kept(desk: dict[str, Any]) -> None:
    """The paper counts, the turnout's spoilt papers and the report's identification counts read
    the same after clearing; the keyings per member of staff are in the round's audit log."""
    world = desk["world"]
    before = desk["before"]
    assert paper_counts(round=world.round) == before["counts"]
    assert before["counts"] == {
        "waiting": 0,
        "counted": VOTERS - 2,
        "mismatch": 0,
        "spoilt": 1,
        "resolved": 1,
    }
    assert turnout(round=world.round, fresh=True)["spoilt_paper"] == before["spoilt"] == 1
    assert identified_ballots(round=world.round) == before["identified"]
    [cleared] = AuditEntry.objects.filter(action=AuditAction.VOTING_PAPER_KEYINGS_CLEARED)
    assert cleared.round == world.round
    assert cleared.details == {
        "papers": {"counted": VOTERS - 2, "resolved": 1, "spoilt": 1},
        "keyings": 2 * VOTERS,
        "keyed_by": {str(world.staff.pk): VOTERS, str(world.staff2.pk): VOTERS},
    }


def test_counting_again_clears_nothing_more(desk: dict[str, Any]) -> None:
    world = desk["world"]
    rows = _physical_papers()
    round_count(round=world.round)
    assert paper_keyings_clear(round_id=world.round.pk) == 0
    assert _physical_papers() == rows
    assert AuditEntry.objects.filter(action=AuditAction.VOTING_PAPER_KEYINGS_CLEARED).count() == 1

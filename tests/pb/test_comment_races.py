"""Flags on a comment are counted once per person when people press at the same moment
(PostgreSQL, real threads: see ``race`` in tests/conftest.py)."""

from __future__ import annotations

import pytest

from pb.models import Comment, CommentFlag, Proposal, ProposalStatus
from pb.services.comments import comment_create, comment_flag
from tests.conftest import race
from tests.factories import UserFactory
from tests.pb.conftest import World

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

THREADS = 4


def a_comment() -> Comment:
    world = World(phase="intake")
    proposal = Proposal.objects.create(
        round=world.round,
        area=world.north,
        title="Benches",
        description="Six benches.",
        estimated_cost=1_000,
        status=ProposalStatus.SUBMITTED,
    )
    comment = comment_create(author=world.resident, proposal=proposal, text="Hi", stance="for")
    return comment


def test_one_person_flagging_at_once_from_two_tabs_counts_once():
    comment = a_comment()
    flagger = UserFactory(email="flagger@example.org")
    outcomes = race(lambda: comment_flag(user=flagger, comment=comment), threads=THREADS)
    assert all(o.ok for o in outcomes), [o.error for o in outcomes]
    assert sorted(o.value for o in outcomes) == [False] * (THREADS - 1) + [True]
    comment.refresh_from_db()
    assert comment.flag_count == 1 and CommentFlag.objects.count() == 1


def test_many_people_flagging_at_once_are_all_counted():
    comment = a_comment()
    # Each thread takes the next person (next() on a list iterator is atomic under the GIL).
    people = iter([UserFactory(email=f"f{i}@example.org") for i in range(THREADS)])
    outcomes = race(lambda: comment_flag(user=next(people), comment=comment), threads=THREADS)
    assert all(o.ok and o.value for o in outcomes), [o.error for o in outcomes]
    comment.refresh_from_db()
    assert comment.flag_count == THREADS == CommentFlag.objects.count()

"""Flags on a comment are counted once per person, and a comment is hidden once, when people
press at the same moment (PostgreSQL, real threads: see ``race`` in tests/conftest.py)."""

from __future__ import annotations

import pytest

from backend.errors import Conflict
from pb.models import AuditEntry
from pb.proposals.comments import comment_create, comment_flag, comment_hide
from pb.proposals.models import Comment, CommentFlag, Proposal, ProposalStatus
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
    outcomes = race(lambda: comment_flag(actor=flagger, comment=comment), threads=THREADS)
    assert all(o.ok for o in outcomes), [o.error for o in outcomes]
    assert sorted(o.value for o in outcomes) == [False] * (THREADS - 1) + [True]
    comment.refresh_from_db()
    assert comment.flag_count == 1 and CommentFlag.objects.count() == 1


def test_many_people_flagging_at_once_are_all_counted():
    comment = a_comment()
    # Each thread takes the next person (next() on a list iterator is atomic under the GIL).
    people = iter([UserFactory(email=f"f{i}@example.org") for i in range(THREADS)])
    outcomes = race(lambda: comment_flag(actor=next(people), comment=comment), threads=THREADS)
    assert all(o.ok and o.value for o in outcomes), [o.error for o in outcomes]
    comment.refresh_from_db()
    assert comment.flag_count == THREADS == CommentFlag.objects.count()


def test_managers_hiding_a_comment_at_once_hide_it_once_with_one_reason():
    comment = a_comment()
    manager = comment.proposal.area.managers.get()  # North's manager
    # Each thread gives its own reason (next() on a list iterator is atomic under the GIL).
    reasons = iter([f"Reason {i}" for i in range(THREADS)])
    outcomes = race(
        lambda: comment_hide(actor=manager, comment=comment, reason=next(reasons)),
        threads=THREADS,
        hold='FROM "pb_comment"',
    )
    assert sum(o.ok for o in outcomes) == 1, [o.error for o in outcomes]
    assert all(isinstance(o.error, Conflict) for o in outcomes if not o.ok)
    (winner,) = [o.value for o in outcomes if o.ok]
    comment.refresh_from_db()
    assert comment.hidden and comment.hidden_reason == winner.hidden_reason
    (entry,) = AuditEntry.objects.filter(action="comment.hide")
    assert entry.reason == winner.hidden_reason

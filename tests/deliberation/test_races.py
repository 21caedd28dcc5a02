"""The room row lock gives every event its own sequence number, also when people speak at once
(PostgreSQL, real threads: see ``race`` in tests/conftest.py)."""

from __future__ import annotations

import threading

import pytest

from deliberation import services
from deliberation.models import Room, RoomEvent
from tests.conftest import race
from tests.deliberation.conftest import make_resident, make_scene

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

THREADS = 6


def test_people_speaking_at_once_get_one_sequence_number_each_with_no_gap(clock):
    scene = make_scene()  # the room's opening is event 1
    speakers = iter([make_resident(scene.area, display_name=f"P{i}") for i in range(THREADS)])
    lock = threading.Lock()

    def say() -> int:
        with lock:
            speaker = next(speakers)
        said = services.contribution_say(
            room=scene.room.pk, actor=speaker, kind="message", text=f"I am {speaker.display_name}"
        )
        return said.pk

    outcomes = race(say, threads=THREADS, hold='FROM "deliberation_room"')

    assert [o.error for o in outcomes] == [None] * THREADS
    seqs = sorted(RoomEvent.objects.filter(room=scene.room).values_list("seq", flat=True))
    assert seqs == list(range(1, THREADS + 2))
    assert Room.objects.get(pk=scene.room.pk).last_seq == THREADS + 1

"""Who may read, take part in and run a room: the permission matrix."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser

from backend.accounts.models import Role
from deliberation import rules, services
from tests.deliberation.conftest import make_resident, make_scene
from tests.factories import AreaFactory, UserFactory

pytestmark = pytest.mark.django_db


def people(scene):
    manager = UserFactory(role=Role.MANAGER)
    scene.area.managers.add(manager)
    muted = make_resident(scene.area)
    services.participant_mute(room=scene.room, actor=scene.facilitator, user=muted.pk, reason="x")
    return {
        "anonymous": AnonymousUser(),
        "resident": scene.alice,
        "unchecked resident": make_resident(scene.area, checked=False),
        "resident elsewhere": make_resident(AreaFactory()),
        "resident without area": make_resident(None),
        "muted resident": muted,
        "room facilitator": scene.facilitator,
        "other facilitator": UserFactory(role=Role.FACILITATOR),
        "round manager": manager,
        "admin": UserFactory(role=Role.ADMIN),
    }


#            who                      read   take part (area room)  take part (open room)  run
MATRIX = [
    ("anonymous", True, False, False, False),
    ("resident", True, True, True, False),
    ("unchecked resident", True, False, True, False),  # declared the area; not checked yet
    ("resident elsewhere", True, False, True, False),
    ("resident without area", True, False, True, False),
    ("muted resident", True, False, False, False),
    ("room facilitator", True, True, True, True),
    ("other facilitator", True, False, True, False),
    ("round manager", True, True, True, True),
    ("admin", True, True, True, True),
]


@pytest.mark.parametrize(("who", "read", "part_area", "part_open", "run"), MATRIX)
def test_permission_matrix(who, read, part_area, part_open, run):
    area_scene = make_scene(area_room=True)
    person = people(area_scene)[who]
    assert rules.can_read_room(person, area_scene.room) is read
    assert rules.can_take_part(person, area_scene.room) is part_area
    assert rules.can_run_room(person, area_scene.room) is run

    open_scene = make_scene()
    person = people(open_scene)[who]
    assert rules.can_take_part(person, open_scene.room) is part_open


def test_nobody_takes_part_in_a_scheduled_or_closed_room():
    scene = make_scene(open_room=False)
    assert not rules.can_take_part(scene.alice, scene.room)
    services.room_open(room=scene.room, actor=scene.facilitator)
    scene.room.refresh_from_db()
    assert rules.can_take_part(scene.alice, scene.room)
    services.room_close(room=scene.room, actor=scene.facilitator, summary="Thanks")
    scene.room.refresh_from_db()
    assert not rules.can_take_part(scene.alice, scene.room)
    assert not rules.can_take_part(scene.facilitator, scene.room)


@pytest.mark.parametrize(
    ("phase", "allowed"),
    [("intake", True), ("deliberation", True), ("voting", True), ("draft", False)],
)
def test_taking_part_follows_the_phase_table(phase, allowed):
    scene = make_scene(phase=phase)
    assert rules.can_take_part(scene.alice, scene.room) is allowed


def test_rooms_of_a_draft_round_are_for_their_staff_only():
    scene = make_scene(phase="draft")
    assert not rules.can_read_room(AnonymousUser(), scene.room)
    assert not rules.can_read_room(scene.alice, scene.room)
    assert rules.can_read_room(scene.facilitator, scene.room)

"""Reactions and hands trust the checks their room's hub kept (``deliberation.rights``), and a
person whose right ends is refused all the same: muted, the contribution hidden, the round moved
on, the room closed, the home area un-checked, the account closed."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.db import connection
from django.test.utils import CaptureQueriesContext

from backend.accounts.models import Role
from deliberation import consumers, light, rights, services
from deliberation.hub import hubs
from deliberation.models import HandRaise
from deliberation.rights import TTL, RoomRights
from pb.phases import PHASE_ACTIONS, Action, Phase
from pb.rounds.services import round_advance_phase
from tests.deliberation.conftest import connected, make_scene, next_frame, no_more_frames
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def run(coro: Any) -> Any:
    return asyncio.run(coro)


@pytest.fixture
def later(monkeypatch: Any) -> list[float]:
    """The rights' clock, moved by adding to ``later[0]``."""
    moved = [0.0]
    real = rights.clock
    monkeypatch.setattr(rights, "clock", lambda: real() + moved[0])
    return moved


@pytest.fixture
def no_flush(monkeypatch: Any) -> list[int]:
    """Flushes are not the subject here: note them instead."""
    asked: list[int] = []
    monkeypatch.setattr(light, "schedule_flush", asked.append)
    return asked


# --- What is kept, and for how long -----------------------------------------------------------


def test_kept_rights_are_forgotten_on_a_change_and_lapse_by_themselves(later: list[float]) -> None:
    kept = RoomRights()
    kept.allow(7, kept.stamp())
    kept.visible(70, kept.stamp())
    for harmless in ("said", "reactions", "speaker", "agenda", "timer", "poll_voted", "pinned"):
        kept.heard(harmless)
    assert kept.may(7) and kept.is_visible(70)
    for change in ("muted", "hidden", "closed", "opened", "something_new", None):
        kept.allow(7, kept.stamp())
        kept.visible(70, kept.stamp())
        kept.heard(change)
        assert not kept.may(7) and not kept.is_visible(70), change
    kept.allow(7, kept.stamp())
    later[0] = TTL + 0.1
    assert not kept.may(7), "a right kept longer than TTL is checked again"


def test_a_check_that_ran_across_a_change_is_not_kept() -> None:
    kept = RoomRights()
    stamp = kept.stamp()  # a light thread starts reading the database...
    kept.heard("muted")  # ...the hub hears of a mute meanwhile...
    kept.allow(7, stamp)  # ...and the check it finished stands for the room before it
    kept.visible(70, stamp)
    assert not kept.may(7) and not kept.is_visible(70)


def test_a_known_person_and_contribution_react_without_a_database_round_trip(
    no_flush: list[int],
) -> None:
    scene = make_scene()
    said = services.contribution_say(room=scene.room, actor=scene.bob, kind="message", text="B")
    kept = RoomRights()

    def react(reaction: str) -> None:
        services.reaction_set(
            room=scene.room.pk,
            actor=scene.alice,
            contribution=said.pk,
            reaction=reaction,
            rights=kept,
        )

    with CaptureQueriesContext(connection) as first:
        react("agree")
    with CaptureQueriesContext(connection) as second:
        react("unsure")
    assert len(first) >= 3, "the first reaction is checked against the database"
    assert len(second) == 0, [q["sql"] for q in second]
    assert light.take(scene.room.pk).reactions == {(said.pk, scene.alice.pk): "unsure"}
    assert no_flush == [scene.room.pk, scene.room.pk]

    # A hand is still stored at once, without reading the room, its mutes or facilitators.
    with CaptureQueriesContext(connection) as hand:
        services.hand_raise(room=scene.room.pk, actor=scene.alice, rights=kept)
        services.hand_lower(room=scene.room.pk, actor=scene.alice, rights=kept)
    tables = " ".join(q["sql"] for q in hand)
    assert '"deliberation_room"' not in tables and '"deliberation_mute"' not in tables, tables
    assert HandRaise.objects.get(user=scene.alice).lowered_at is not None


def test_without_kept_rights_every_reaction_is_checked(no_flush: list[int]) -> None:
    """Form posts (and anything not behind a room's hub) pass no rights: always checked."""
    scene = make_scene()
    said = services.contribution_say(room=scene.room, actor=scene.bob, kind="message", text="B")
    for reaction in ("agree", "unsure"):
        with CaptureQueriesContext(connection) as queries:
            services.reaction_set(
                room=scene.room.pk, actor=scene.alice, contribution=said.pk, reaction=reaction
            )
        assert len(queries) >= 3


# --- Through a live connection: a right that ends is refused at once ------------------------


def react(contribution: int) -> dict[str, Any]:
    return {"type": "react", "contribution": contribution, "reaction": "agree", "ref": "r"}


async def accepted(comm: Any) -> None:
    """Every frame ``comm`` sent so far was carried out without an error frame: a bad frame
    sent now is answered after them, and its answer is the next frame."""
    await comm.send_json_to({"type": "hand", "raised": "maybe", "ref": "barrier"})
    frame = await next_frame(comm)
    assert frame.get("ref") == "barrier", f"refused: {frame}"


async def refused(comm: Any) -> str:
    frame = await next_frame(comm)
    assert frame["type"] == "error" and frame.get("ref") == "r", frame
    return str(frame["code"])


async def event_kind(comm: Any) -> str:
    frame = await next_frame(comm)
    assert frame["type"] == "event", frame
    return str(frame["event"])


def kept_for(room_id: int) -> RoomRights:
    hub = hubs.get(room_id)
    assert hub is not None
    return hub.rights


def test_a_resident_muted_after_reacting_is_refused_at_the_next_reaction(
    layer: str, no_flush: list[int]
) -> None:
    scene = make_scene()
    said = services.contribution_say(room=scene.room, actor=scene.bob, kind="message", text="B")
    seen = scene.room.last_seq + 1

    async def go() -> str:
        alice = await connected(scene.room.pk, scene.alice, last_seq=seen)
        await alice.send_json_to(react(said.pk))
        await accepted(alice)
        assert kept_for(scene.room.pk).may(scene.alice.pk), "the check was kept"
        await database_sync_to_async(services.participant_mute)(
            room=scene.room.pk, actor=scene.facilitator, user=scene.alice.pk, reason="Shouting"
        )
        assert await event_kind(alice) == "muted"
        await alice.send_json_to(react(said.pk))
        code = await refused(alice)
        await alice.disconnect()
        return code

    assert run(go()) == "muted"


def test_a_contribution_hidden_after_a_reaction_cannot_be_reacted_to(
    layer: str, no_flush: list[int]
) -> None:
    scene = make_scene()
    said = services.contribution_say(room=scene.room, actor=scene.bob, kind="message", text="B")
    seen = scene.room.last_seq + 1

    async def go() -> str:
        alice = await connected(scene.room.pk, scene.alice, last_seq=seen)
        await alice.send_json_to(react(said.pk))
        await accepted(alice)
        assert kept_for(scene.room.pk).is_visible(said.pk)
        await database_sync_to_async(services.contribution_hide)(
            room=scene.room.pk, actor=scene.facilitator, contribution=said.pk, reason="Rude"
        )
        assert await event_kind(alice) == "hidden"
        await alice.send_json_to(react(said.pk))
        code = await refused(alice)
        await alice.disconnect()
        return code

    assert run(go()) == "not_found"


def test_when_the_round_moves_on_its_rooms_refuse_reactions_at_once(
    layer: str, no_flush: list[int], monkeypatch: Any
) -> None:
    """The phase is no event in the room's log: the move is announced (``pb.events``) and
    the room's hubs told to forget (a ``room.rights`` message), before any reaction after it.

    Every public phase takes comments today, so the test has voting take none, as a council
    could decide: what matters is that a move is heard at once, whatever the table says."""
    monkeypatch.setitem(PHASE_ACTIONS, Phase.VOTING, frozenset({Action.VOTE}))
    scene = make_scene()
    said = services.contribution_say(room=scene.room, actor=scene.bob, kind="message", text="B")
    seen = scene.room.last_seq + 1
    admin = UserFactory(role=Role.ADMIN)

    async def go() -> tuple[str, str]:
        alice = await connected(scene.room.pk, scene.alice, last_seq=seen)
        await alice.send_json_to(react(said.pk))
        await alice.send_json_to({"type": "hand", "raised": True})
        await accepted(alice)
        await database_sync_to_async(round_advance_phase)(
            actor=admin, round=scene.round, to_phase="voting", reason="Voting opens"
        )
        # The move's message went to the room's group before this marker, which the hub
        # writes to Alice only after it has received (and acted on) everything before it.
        await no_more_frames(alice)
        assert not kept_for(scene.room.pk).may(scene.alice.pk)
        await alice.send_json_to(react(said.pk))
        reaction = await refused(alice)
        await alice.send_json_to({"type": "hand", "raised": False, "ref": "r"})
        await accepted(alice)  # lowering a hand is still allowed
        await alice.send_json_to({"type": "hand", "raised": True, "ref": "r"})
        hand = await refused(alice)
        await alice.disconnect()
        return reaction, hand

    assert run(go()) == ("not_allowed", "not_allowed")


def test_a_room_closed_after_a_reaction_refuses_the_next(layer: str, no_flush: list[int]) -> None:
    scene = make_scene()
    said = services.contribution_say(room=scene.room, actor=scene.bob, kind="message", text="B")
    seen = scene.room.last_seq + 1

    async def go() -> str:
        alice = await connected(scene.room.pk, scene.alice, last_seq=seen)
        await alice.send_json_to(react(said.pk))
        await accepted(alice)
        await database_sync_to_async(services.room_close)(
            room=scene.room.pk, actor=scene.facilitator, summary="Thanks all"
        )
        while await event_kind(alice) != "closed":
            pass
        await alice.send_json_to(react(said.pk))
        code = await refused(alice)
        await alice.disconnect()
        return code

    assert run(go()) == "room_not_open"


def test_a_change_nobody_announces_is_seen_once_the_kept_right_lapses(
    later: list[float], no_flush: list[int]
) -> None:
    """The council un-checks Alice's home area (nothing tells the room): her reactions are
    accepted for at most ``TTL`` seconds more, then refused."""
    scene = make_scene(area_room=True)
    said = services.contribution_say(room=scene.room, actor=scene.bob, kind="message", text="B")
    seen = scene.room.last_seq + 1

    def uncheck() -> None:
        scene.alice.profile.verified = False
        scene.alice.profile.save()

    async def go() -> str:
        alice = await connected(scene.room.pk, scene.alice, last_seq=seen)
        await alice.send_json_to(react(said.pk))
        await accepted(alice)
        await database_sync_to_async(uncheck)()
        later[0] = TTL + 0.1
        await alice.send_json_to(react(said.pk))
        code = await refused(alice)
        await alice.disconnect()
        return code

    assert run(go()) == "not_checked"


def test_a_closed_account_whose_announcement_was_lost_is_stopped_once_its_check_lapses(
    later: list[float], no_flush: list[int]
) -> None:
    scene = make_scene()
    said = services.contribution_say(room=scene.room, actor=scene.bob, kind="message", text="B")
    seen = scene.room.last_seq + 1
    user_model = type(scene.alice)

    async def go() -> tuple[str, int]:
        alice = await connected(scene.room.pk, scene.alice, last_seq=seen)
        await alice.send_json_to(react(said.pk))
        await accepted(alice)
        await database_sync_to_async(user_model.objects.filter(pk=scene.alice.pk).update)(
            is_active=False
        )
        later[0] = TTL + 0.1
        await alice.send_json_to(react(said.pk))
        code = await refused(alice)
        while (out := await alice.receive_output(timeout=5))["type"] != "websocket.close":
            assert '"presence"' in out.get("text", ""), out  # nothing else comes before it
        return code, int(out["code"])

    assert run(go()) == ("signed_out", consumers.CLOSE_SIGNED_OUT)

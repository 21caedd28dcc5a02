"""A busy evening: reactions and hands reach everyone in aggregate (one ``reactions`` event a
flush, not one event each), and a reader that stops reading is dropped, not waited for."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from channels.db import database_sync_to_async

from deliberation import consumers, hub, light, services
from deliberation.hub import current_seq
from deliberation.models import Reaction, RoomEvent
from tests.deliberation.conftest import (
    connected,
    make_resident,
    make_scene,
    next_frame,
    no_more_frames,
)

pytestmark = pytest.mark.django_db(transaction=True)


def run_async(coro: Any) -> Any:
    return asyncio.run(coro)


async def closed_with(comm: Any) -> int:
    """The close code, skipping whatever frames come before it."""
    while True:
        out = await comm.receive_output(timeout=5)
        if out["type"] == "websocket.close":
            return int(out["code"])


@pytest.fixture(params=["memory", "redis"])
def store(request: Any, settings: Any) -> str:
    """Waiting reactions kept in this process (no Redis) and, where Redis is available, in
    Redis (production: shared by every server process)."""
    if request.param == "redis":
        from tests.conftest import need_redis

        url = need_redis()
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": url,
                "KEY_PREFIX": "test",
            }
        }
    else:
        settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    return str(request.param)


async def expect_error_frame(comm: Any, code: str) -> dict[str, Any]:
    frame = await next_frame(comm)
    assert frame["type"] == "error" and frame["code"] == code, frame
    return frame


async def processed(comm: Any) -> None:
    """Every frame ``comm`` sent so far has been carried out: frames of one connection are
    handled in order, so the answer to a bad frame sent now comes after them. It is an
    ``error`` frame, and the connection stays open."""
    await comm.send_json_to({"type": "hand", "raised": "maybe", "ref": "barrier"})
    frame = await expect_error_frame(comm, "invalid")
    assert frame["ref"] == "barrier"


def test_reactions_and_hands_from_several_clients_reach_everyone_as_one_event(
    monkeypatch: Any, store: str
) -> None:
    monkeypatch.setattr(light, "FLUSH_INTERVAL", None)  # the test decides when to flush
    scene = make_scene()
    first = services.contribution_say(room=scene.room, actor=scene.alice, kind="message", text="A")
    second = services.contribution_say(room=scene.room, actor=scene.bob, kind="message", text="B")
    carol = make_resident(scene.area, display_name="Carol")
    seen = scene.room.last_seq + 2

    async def go() -> tuple[list[dict[str, Any]], list[str]]:
        alice = await connected(scene.room.pk, scene.alice, last_seq=seen)
        bob = await connected(scene.room.pk, scene.bob, last_seq=seen)
        carol_ = await connected(scene.room.pk, carol, last_seq=seen)
        reader = await connected(scene.room.pk, None, last_seq=seen)
        everyone = [alice, bob, carol_, reader]

        def react(contribution: int, reaction: str) -> dict[str, Any]:
            return {"type": "react", "contribution": contribution, "reaction": reaction}

        # Ten reactions from three people, some changed, and bad frames among them.
        await alice.send_json_to(react(first.pk, "agree"))
        await alice.send_json_to(react(first.pk, "sideways"))
        await alice.send_json_to(react(second.pk, "unsure"))
        await bob.send_json_to(react(first.pk, "disagree"))
        await bob.send_json_to(react(first.pk, "agree"))
        await bob.send_json_to(react(999_999, "agree"))
        await bob.send_json_to(react(second.pk, "agree"))
        await carol_.send_json_to(react(first.pk, "unsure"))
        await carol_.send_json_to(react(second.pk, "disagree"))
        await carol_.send_json_to(react(second.pk, "agree"))
        errors = [(await next_frame(alice))["code"], (await next_frame(bob))["code"]]
        # Hands in an order the queue must keep: Carol, Alice, Bob; then Alice lowers hers.
        for comm in (carol_, alice, bob):
            await comm.send_json_to({"type": "hand", "raised": True})
            await processed(comm)
        await alice.send_json_to({"type": "hand", "raised": False})
        await alice.send_json_to({"type": "hand", "raised": False})  # not raised any more
        errors.append((await next_frame(alice))["code"])
        for comm in everyone:
            await processed(comm)

        await database_sync_to_async(services.light_flush)(scene.room.pk)

        got = [await next_frame(comm) for comm in everyone]
        for comm in everyone:
            await no_more_frames(comm)
            await comm.disconnect()
        return got, errors

    got, errors = run_async(go())
    assert errors == ["invalid", "not_found", "conflict"]
    assert all(frame == got[0] for frame in got), "everyone hears the same event"
    event = got[0]
    assert event["type"] == "event" and event["event"] == "reactions"
    assert event["seq"] == seen + 1
    assert event["data"] == {
        "reacted": [
            {"contribution": first.pk, "counts": {"agree": 2, "disagree": 0, "unsure": 1}},
            {"contribution": second.pk, "counts": {"agree": 2, "disagree": 0, "unsure": 1}},
        ],
        "queue": [{"id": carol.pk, "name": "Carol"}, {"id": scene.bob.pk, "name": "Bob"}],
    }
    assert RoomEvent.objects.filter(room=scene.room).count() == seen + 1
    assert Reaction.objects.count() == 6


def test_reactions_are_flushed_by_the_server_a_moment_later(store: str) -> None:
    """Without anyone asking: the consumer's process flushes ``FLUSH_INTERVAL`` after the first
    reaction, and a hand raised before a reconnect is still in the queue after it."""
    scene = make_scene()
    said = services.contribution_say(room=scene.room, actor=scene.bob, kind="message", text="B")

    async def go() -> tuple[dict[str, Any], list[dict[str, Any]]]:
        alice = await connected(scene.room.pk, scene.alice, last_seq=2)
        await alice.send_json_to({"type": "react", "contribution": said.pk, "reaction": "agree"})
        await alice.send_json_to({"type": "hand", "raised": True})
        totals: dict[str, Any] = {}
        while "queue" not in totals or "reacted" not in totals:
            frame = await next_frame(alice)
            assert frame["event"] == "reactions", frame
            totals.update(frame["data"])
        await alice.disconnect()
        again = await connected(scene.room.pk, scene.alice, last_seq=None)
        await again.send_json_to({"type": "join", "last_seq": 0})
        replay = []
        while (frame := await next_frame(again))["type"] != "joined":
            replay.append(frame)
        await again.disconnect()
        return totals, replay

    totals, replay = run_async(go())
    assert totals["reacted"] == [
        {"contribution": said.pk, "counts": {"agree": 1, "disagree": 0, "unsure": 0}}
    ]
    assert totals["queue"] == [{"id": scene.alice.pk, "name": "Alice"}]
    queues = [f["data"]["queue"] for f in replay if "queue" in f["data"]]
    assert queues[-1] == [{"id": scene.alice.pk, "name": "Alice"}]


# --- A reader that stops reading ------------------------------------------------------------


def not_reading(member: Any) -> asyncio.Event:
    """Make the server's writes to ``member`` wait, as they do for a client that stopped
    reading (its socket's buffer is full), until the returned event is set. Closing still
    goes through, so the test sees the close code."""
    release = asyncio.Event()
    real_send = member.base_send

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "websocket.send":
            await release.wait()
        await real_send(message)

    member.base_send = send
    return release


async def timer_events(scene: Any, count: int) -> None:
    for seconds in range(1, count + 1):
        await database_sync_to_async(services.timer_set)(
            room=scene.room.pk, actor=scene.facilitator, seconds=seconds
        )


async def events(comm: Any, count: int) -> list[int]:
    seqs = []
    for _ in range(count):
        frame = await next_frame(comm)
        assert frame["type"] == "event", frame
        seqs.append(frame["seq"])
    return seqs


def test_a_reader_that_stops_reading_is_dropped_and_comes_back_missing_nothing(
    monkeypatch: Any, layer: str
) -> None:
    """Before, the hub waited for each write in turn, so one client that stopped reading held
    up every event for everyone on its server. Now its frames queue up to ``OUTBOX_LIMIT``,
    the others are written to meanwhile, and past the limit it is closed with 4408; it
    reconnects with the last ``seq`` it read and gets every event it missed, once, in order."""
    monkeypatch.setattr(consumers, "OUTBOX_LIMIT", 1_000)
    scene = make_scene()

    async def go() -> tuple[int, list[int], list[int], int, list[int], int]:
        slow = await connected(scene.room.pk, None, last_seq=1)
        alice = await connected(scene.room.pk, scene.alice, last_seq=1)
        room_hub = hub.hubs.get(scene.room.pk)
        assert room_hub is not None
        member = next(m for m in room_hub.members if m.user_id is None)
        await timer_events(scene, 3)
        read_before = await events(slow, 3)
        await events(alice, 3)
        release = not_reading(member)

        heard: list[int] = []
        for _round in range(30):  # each round is its own frame: the hub writes it at once
            await timer_events(scene, 5)
            heard += await events(alice, 5)  # the others are not held up
            if member.closing:  # dropped
                break
        code = await closed_with(slow)
        release.set()
        last = await database_sync_to_async(current_seq)(scene.room.pk)

        again = await connected(scene.room.pk, None, last_seq=None)
        await again.send_json_to({"type": "join", "last_seq": read_before[-1]})
        replayed = []
        while (frame := await next_frame(again))["type"] != "joined":
            replayed.append(frame["seq"])
        await no_more_frames(again)
        for comm in (alice, again):
            await comm.disconnect()
        return code, read_before, heard, last, replayed, member.outbox_size

    code, read_before, heard, last, replayed, left = run_async(go())
    assert code == consumers.CLOSE_TOO_SLOW == 4408
    assert read_before == [2, 3, 4]
    assert heard == list(range(5, last + 1))
    assert replayed == list(range(5, last + 1)), "every missed event, once, in order"
    assert left == 0, "nothing is kept for a dropped reader"


def test_a_reader_that_falls_behind_and_catches_up_gets_every_frame_in_order(
    layer: str,
) -> None:
    scene = make_scene()

    async def go() -> tuple[list[int], list[int]]:
        slow = await connected(scene.room.pk, None, last_seq=1)
        alice = await connected(scene.room.pk, scene.alice, last_seq=1)
        room_hub = hub.hubs.get(scene.room.pk)
        assert room_hub is not None
        member = next(m for m in room_hub.members if m.user_id is None)
        release = not_reading(member)
        heard = []
        for _round in range(4):
            await timer_events(scene, 3)
            heard += await events(alice, 3)
        assert member.outbox, "frames wait behind the write that could not finish"
        release.set()
        got = await events(slow, 12)
        await no_more_frames(slow)
        for comm in (slow, alice):
            await comm.disconnect()
        return heard, got

    heard, got = run_async(go())
    assert heard == got == list(range(2, 14))


# --- Pacing -----------------------------------------------------------------------------------


def test_a_reactions_frame_does_not_hold_back_the_next_contribution(monkeypatch: Any) -> None:
    """A busy room sends at most one frame per ``FRAME_INTERVAL``; were reactions frames (a
    few a second) counted, most contributions would wait up to that long behind one."""
    monkeypatch.setattr(light, "FLUSH_INTERVAL", None)
    scene = make_scene()
    said = services.contribution_say(room=scene.room, actor=scene.bob, kind="message", text="B")

    async def go() -> tuple[float, float, float]:
        alice = await connected(scene.room.pk, scene.alice, last_seq=2)
        room_hub = hub.hubs.get(scene.room.pk)
        assert room_hub is not None
        await alice.send_json_to({"type": "react", "contribution": said.pk, "reaction": "agree"})
        await processed(alice)
        before = room_hub.last_flush
        await database_sync_to_async(services.light_flush)(scene.room.pk)
        assert (await next_frame(alice))["event"] == "reactions"
        after_reactions = room_hub.last_flush
        await alice.send_json_to({"type": "say", "kind": "message", "text": "Next"})
        assert (await next_frame(alice))["event"] == "said"
        after_said = room_hub.last_flush
        await alice.disconnect()
        return before, after_reactions, after_said

    before, after_reactions, after_said = run_async(go())
    assert after_reactions == before
    assert after_said > before


async def raw_frame(comm: Any) -> dict[str, Any]:
    """The next frame as sent (a ``batch`` stays one frame), presence skipped."""
    while (frame := await comm.receive_json_from(timeout=10))["type"] == "presence":
        pass
    return dict(frame)


def test_reactions_wait_to_share_the_next_contributions_frame(monkeypatch: Any) -> None:
    """A ``reactions`` event that comes alone waits (``LIGHT_HOLD``) for the next event and
    goes out in its frame: one write to every connection instead of two. The contribution is
    not held back for it: the hold here is far longer than the test's wait for its frame."""
    monkeypatch.setattr(light, "FLUSH_INTERVAL", None)
    monkeypatch.setattr(hub, "LIGHT_HOLD", 60.0)
    scene = make_scene()
    said = services.contribution_say(room=scene.room, actor=scene.bob, kind="message", text="B")

    async def go() -> dict[str, Any]:
        alice = await connected(scene.room.pk, scene.alice, last_seq=2)
        await alice.send_json_to({"type": "react", "contribution": said.pk, "reaction": "agree"})
        await processed(alice)
        await database_sync_to_async(services.light_flush)(scene.room.pk)
        await database_sync_to_async(services.contribution_say)(
            room=scene.room.pk, actor=scene.bob, kind="message", text="Next"
        )
        frame = await raw_frame(alice)
        await alice.disconnect()
        return frame

    frame = run_async(go())
    assert frame["type"] == "batch", frame
    assert [e["event"] for e in frame["events"]] == ["reactions", "said"]
    assert [e["seq"] for e in frame["events"]] == [3, 4]


def test_reactions_alone_still_go_out_after_the_hold(monkeypatch: Any) -> None:
    monkeypatch.setattr(light, "FLUSH_INTERVAL", None)
    monkeypatch.setattr(hub, "LIGHT_HOLD", 0.05)
    scene = make_scene()
    said = services.contribution_say(room=scene.room, actor=scene.bob, kind="message", text="B")

    async def go() -> dict[str, Any]:
        alice = await connected(scene.room.pk, scene.alice, last_seq=2)
        await alice.send_json_to({"type": "react", "contribution": said.pk, "reaction": "agree"})
        await processed(alice)
        await database_sync_to_async(services.light_flush)(scene.room.pk)
        frame = await raw_frame(alice)
        await alice.disconnect()
        return frame

    frame = run_async(go())
    assert frame["type"] == "event" and frame["event"] == "reactions", frame
    assert frame["data"]["reacted"][0]["counts"]["agree"] == 1


def test_one_process_at_a_time_flushes_a_room(store: str) -> None:
    """Two ASGI servers each schedule a flush after their own reactions; only the first in a
    ``FLUSH_INTERVAL`` flushes, so a room gets no more ``reactions`` events with two than
    with one. Without Redis there is one process: it always may."""
    first, second = light.claim_turn(41), light.claim_turn(41)
    assert first is True
    assert second is (store == "memory")
    assert light.claim_turn(42) is True, "rooms take turns apart"

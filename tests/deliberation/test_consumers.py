"""The live protocol through ``WebsocketCommunicator``: every frame type, the replay guarantee
and every kind of bad input, on the in-memory layer and (with REDIS_URL) on channels-redis."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from backend.asgi import application
from deliberation import services
from deliberation.models import Contribution, Poll, PollVote, Reaction, RoomEvent
from tests.deliberation.conftest import (
    SAME_ORIGIN,
    communicator,
    connected,
    frames_until,
    make_resident,
    make_scene,
    next_frame,
    no_more_frames,
)

pytestmark = pytest.mark.django_db(transaction=True)


def run(coro):
    return asyncio.run(coro)


async def expect_event(comm, event: str) -> dict:
    frame = await next_frame(comm)
    assert frame["type"] == "event", frame
    assert frame["event"] == event, frame
    return frame


async def expect_error(comm, code: str) -> dict:
    frame = await next_frame(comm)
    assert frame["type"] == "error", frame
    assert frame["code"] == code, frame
    assert frame["detail"]
    return frame


# --- Every frame type -----------------------------------------------------------------------


def test_join_replays_the_log_then_says_joined(layer):
    scene = make_scene()
    services.contribution_say(room=scene.room, actor=scene.alice, kind="message", text="Early")

    async def go():
        comm = communicator(scene.room.pk, scene.bob)
        assert (await comm.connect())[0]
        await comm.send_json_to({"type": "join", "last_seq": 0})
        frames = await frames_until(comm, "joined")
        await comm.disconnect()
        return frames

    frames = run(go())
    assert [(f["type"], f.get("event"), f.get("seq")) for f in frames] == [
        ("event", "opened", 1),
        ("event", "said", 2),
        ("joined", None, None),
    ]
    assert frames[1]["data"]["text"] == "Early"
    assert frames[2]["last_seq"] == 2


def test_say_reaches_every_client_with_the_same_seq_and_html_stays_text(layer):
    scene = make_scene()

    async def go():
        alice = await connected(scene.room.pk, scene.alice)
        bob = await connected(scene.room.pk, scene.bob)
        await alice.send_json_to(
            {"type": "say", "kind": "question", "text": "<b>Why</b> <script>x()</script>?"}
        )
        a, b = await expect_event(alice, "said"), await expect_event(bob, "said")
        for c in (alice, bob):
            await c.disconnect()
        return a, b

    a, b = run(go())
    assert a == b
    assert a["seq"] == 2
    assert a["data"]["text"] == "<b>Why</b> <script>x()</script>?"
    assert a["data"]["author"] == {"id": scene.alice.pk, "name": "Alice"}
    assert Contribution.objects.get().text == "<b>Why</b> <script>x()</script>?"


def test_say_with_reply_and_proposal(layer):
    scene = make_scene()
    first = services.contribution_say(room=scene.room, actor=scene.bob, kind="message", text="Hi")

    async def go():
        alice = await connected(scene.room.pk, scene.alice, last_seq=2)
        await alice.send_json_to(
            {
                "type": "say",
                "kind": "against",
                "text": "Too dear",
                "reply_to": first.pk,
                "proposal": scene.proposal.pk,
            }
        )
        frame = await expect_event(alice, "said")
        await alice.disconnect()
        return frame

    data = run(go())["data"]
    assert data["reply_to"] == first.pk
    assert data["proposal"] == {"id": scene.proposal.pk, "title": scene.proposal.title}


def test_react_hand_and_poll_vote_frames():
    scene = make_scene()
    said = services.contribution_say(room=scene.room, actor=scene.bob, kind="message", text="Hi")
    poll = services.poll_open(
        room=scene.room, actor=scene.facilitator, question="Bench?", options=["Yes", "No"]
    )
    yes = poll.options.first()

    async def go():
        alice = await connected(scene.room.pk, scene.alice, last_seq=3)
        await alice.send_json_to({"type": "react", "contribution": said.pk, "reaction": "agree"})
        reacted = await expect_event(alice, "reactions")
        await alice.send_json_to({"type": "hand", "raised": True})
        raised = await expect_event(alice, "reactions")
        await alice.send_json_to({"type": "hand", "raised": False})
        lowered = await expect_event(alice, "reactions")
        await alice.send_json_to({"type": "poll_vote", "poll": poll.pk, "option": yes.pk})
        voted = await expect_event(alice, "poll_voted")
        await alice.disconnect()
        return reacted, raised, lowered, voted

    reacted, raised, lowered, voted = run(go())
    assert reacted["data"] == {
        "reacted": [{"contribution": said.pk, "counts": {"agree": 1, "disagree": 0, "unsure": 0}}]
    }
    assert raised["data"]["queue"] == [{"id": scene.alice.pk, "name": "Alice"}]
    assert lowered["data"]["queue"] == []
    assert voted["data"]["counts"][str(yes.pk)] == 1 and voted["data"]["total"] == 1
    assert Reaction.objects.count() == 1 and PollVote.objects.count() == 1


def test_facilitator_frames(layer):
    scene = make_scene(open_room=False)
    alice_said = []

    async def go():
        fran = await connected(scene.room.pk, scene.facilitator)
        alice = await connected(scene.room.pk, scene.alice)
        events = {}

        async def act(frame, event):
            await fran.send_json_to(frame)
            got = await expect_event(fran, event)
            assert await expect_event(alice, event) == got
            events[frame["type"]] = got
            return got

        await act({"type": "open"}, "opened")
        await alice.send_json_to({"type": "hand", "raised": True})
        await expect_event(fran, "reactions")
        await expect_event(alice, "reactions")
        await act({"type": "next_speaker"}, "speaker")
        await act({"type": "agenda", "step": 2}, "agenda")
        await act({"type": "timer", "seconds": 90}, "timer")
        opened = await act(
            {"type": "poll_open", "question": "Bench?", "options": ["Yes", "No"]}, "poll_opened"
        )
        await act({"type": "poll_close", "poll": opened["data"]["poll"]["id"]}, "poll_closed")
        await alice.send_json_to({"type": "say", "kind": "message", "text": "Pin me"})
        said = await expect_event(alice, "said")
        await expect_event(fran, "said")
        alice_said.append(said)
        cid = said["data"]["id"]
        await act({"type": "pin", "contribution": cid}, "pinned")
        await act({"type": "hide", "contribution": cid, "reason": "Off topic"}, "hidden")
        await act({"type": "mute", "user": scene.alice.pk, "reason": "Shouting"}, "muted")
        await alice.send_json_to({"type": "say", "kind": "message", "text": "Let me speak"})
        await expect_error(alice, "muted")
        await act({"type": "close", "summary": "We want the bench."}, "closed")
        for c in (fran, alice):
            await c.disconnect()
        return events

    events = run(go())
    assert events["next_speaker"]["data"]["user"] == {"id": scene.alice.pk, "name": "Alice"}
    assert events["agenda"]["data"]["item"]["title"] == "The bench"
    assert events["timer"]["data"]["seconds"] == 90
    assert events["poll_close"]["data"]["total"] == 0
    assert events["pin"]["data"] == {"contribution": alice_said[0]["data"]["id"], "pinned": True}
    assert events["hide"]["data"]["reason"] == "Off topic"
    assert events["mute"]["data"]["user"]["id"] == scene.alice.pk
    assert events["close"]["data"]["summary"] == "We want the bench."
    seqs = [e["seq"] for e in events.values()]
    assert seqs == sorted(seqs)


def test_presence_counts_connections():
    scene = make_scene()

    async def presence(comm, count):
        while True:
            frame = await comm.receive_json_from(timeout=3)
            if frame["type"] == "presence" and frame["count"] == count:
                return frame

    async def go():
        alice = await connected(scene.room.pk, scene.alice)
        bob = await connected(scene.room.pk, scene.bob)
        both = await presence(alice, 2)
        await bob.disconnect()
        one = await presence(alice, 1)
        await alice.disconnect()
        return both, one

    both, one = run(go())
    assert both == {"type": "presence", "count": 2}
    assert one == {"type": "presence", "count": 1}


# --- The replay guarantee -------------------------------------------------------------------


def test_reconnecting_with_last_seq_gets_exactly_what_was_missed_in_order(layer):
    scene = make_scene()

    async def go():
        alice = await connected(scene.room.pk, scene.alice)
        await alice.send_json_to({"type": "say", "kind": "message", "text": "before"})
        seen = (await expect_event(alice, "said"))["seq"]
        await alice.disconnect()

        bob = await connected(scene.room.pk, scene.bob)
        for i in range(5):
            await bob.send_json_to({"type": "say", "kind": "message", "text": f"missed {i}"})
            await expect_event(bob, "said")
        await bob.send_json_to({"type": "hand", "raised": True})
        await expect_event(bob, "reactions")

        alice = communicator(scene.room.pk, scene.alice)
        await alice.connect()
        await alice.send_json_to({"type": "join", "last_seq": seen})
        replay = await frames_until(alice, "joined")
        await bob.send_json_to({"type": "say", "kind": "message", "text": "live"})
        live = await expect_event(alice, "said")
        await no_more_frames(alice)
        for c in (alice, bob):
            await c.disconnect()
        return seen, replay, live

    seen, replay, live = run(go())
    events = replay[:-1]
    assert [e["seq"] for e in events] == list(range(seen + 1, seen + 7))
    assert [e["data"].get("text") for e in events[:5]] == [f"missed {i}" for i in range(5)]
    assert events[5]["event"] == "reactions"
    assert events[5]["data"]["queue"] == [{"id": scene.bob.pk, "name": "Bob"}]
    assert replay[-1] == {"type": "joined", "last_seq": seen + 6, "count": replay[-1]["count"]}
    assert live["seq"] == seen + 7 and live["data"]["text"] == "live"


def test_joining_while_events_are_being_made_loses_nothing_and_repeats_nothing(monkeypatch, layer):
    """Events committed while a join is replaying the log, and while it goes live: the first
    replay read returns, then eight more events are committed and broadcast before the
    consumer has sent what it read, then eight more arrive live. No sleep places them."""
    from deliberation import consumers

    scene = make_scene()
    talkers = [make_resident(scene.area) for _ in range(3)]

    def talk(first: int, n: int) -> None:
        # Its own thread and connection, so the events commit and broadcast on their own.
        from django.db import connection

        try:
            for i in range(first, first + n):
                services.contribution_say(
                    room=scene.room.pk, actor=talkers[i % 3], kind="message", text=f"m{i}"
                )
        finally:
            connection.close()

    talk(0, 8)
    missed = consumers.missed
    replays: list[int] = []

    def missed_then_more_events(room_id: int, *args: Any) -> list[tuple[int, str]]:
        rows = missed(room_id, *args)
        if not replays:
            replays.append(len(rows))
            during = threading.Thread(target=talk, args=(8, 8))
            during.start()
            during.join()
        return rows

    monkeypatch.setattr(consumers, "missed", missed_then_more_events)

    async def go():
        watcher = await connected(scene.room.pk, scene.bob, last_seq=None)
        await watcher.send_json_to({"type": "join", "last_seq": 0})
        seqs, joined_at = [], None
        while joined_at is None:
            frame = await next_frame(watcher)
            if frame["type"] == "event":
                seqs.append(frame["seq"])
            elif frame["type"] == "joined":
                joined_at = frame["last_seq"]
        await asyncio.to_thread(talk, 16, 8)
        while not seqs or seqs[-1] < 25:
            frame = await next_frame(watcher)
            assert frame["type"] == "event", frame
            seqs.append(frame["seq"])
        await no_more_frames(watcher)
        await watcher.disconnect()
        return seqs, joined_at

    seqs, joined_at = run(go())
    assert replays == [9]  # the opening and eight messages, read before the next eight
    assert seqs == list(range(1, 26))
    # 17 when the hub saw events 10 to 17 before the replay ended (the replay reads the log
    # again), 9 when they reach this connection live after the join: both lose nothing.
    assert joined_at in (9, 17)


def test_an_event_the_layer_lost_still_reaches_every_client_from_the_log(monkeypatch, layer):
    """As when Redis restarts: the event is committed and logged but never broadcast."""
    from deliberation import hub

    monkeypatch.setattr(hub, "LOG_CHECK_INTERVAL", 0.2)
    scene = make_scene()

    async def go():
        alice = await connected(scene.room.pk, scene.alice)
        bob = await connected(scene.room.pk, scene.bob)
        with monkeypatch.context() as m:
            m.setattr(services, "_broadcast", lambda *args: None)
            await sync_to_async(services.contribution_say)(
                room=scene.room.pk, actor=scene.bob, kind="message", text="lost in transit"
            )
        frames = [await expect_event(c, "said") for c in (alice, bob)]
        await alice.send_json_to({"type": "say", "kind": "message", "text": "after"})
        after = [await expect_event(c, "said") for c in (alice, bob)]
        for c in (alice, bob):
            await no_more_frames(c)
            await c.disconnect()
        return frames, after

    frames, after = run(go())
    assert [f["data"]["text"] for f in frames] == ["lost in transit"] * 2
    assert [f["seq"] for f in after] == [3, 3]


def test_a_client_gone_mid_fan_out_does_not_stop_the_room_for_everyone_else(layer):
    """A browser that navigates away (a facilitator posting the close form) can vanish while
    its process is fanning out, before its ``disconnect`` has run: the server's write then
    raises (uvicorn's ``ClientDisconnected``). That must cost only that connection, not the
    room's hub: the others still get this event and every later one."""
    from deliberation import hub

    scene = make_scene()

    async def go():
        alice = await connected(scene.room.pk, scene.alice)
        bob = await connected(scene.room.pk, scene.bob)
        fran = await connected(scene.room.pk, scene.facilitator)
        room_hub = hub.hubs.get(scene.room.pk)
        assert room_hub is not None
        gone = next(m for m in room_hub.members if m.user == scene.bob)

        async def client_gone(message):
            raise ConnectionResetError("the client went away")

        gone.base_send = client_gone
        await sync_to_async(services.poll_open)(
            room=scene.room.pk, actor=scene.facilitator, question="Fund it?", options=["Yes", "No"]
        )
        await sync_to_async(services.room_close)(
            room=scene.room.pk, actor=scene.facilitator, summary="Most favour the bench."
        )
        frames = {
            name: [await next_frame(c) for _ in range(3)]
            for name, c in (("alice", alice), ("fran", fran))
        }
        for c in (alice, fran):
            await no_more_frames(c)
        for c in (alice, bob, fran):
            await c.disconnect()
        return frames

    frames = run(go())
    for name in ("alice", "fran"):
        assert [(f["seq"], f["event"]) for f in frames[name]] == [
            (2, "poll_opened"),
            (3, "poll_closed"),
            (4, "closed"),
        ], name
    assert frames["alice"][2]["data"]["summary"] == "Most favour the bench."


def test_a_failed_log_check_does_not_stop_the_rooms_hub(monkeypatch, layer):
    """The database unreachable while a quiet hub checks the log: logged, and the hub goes on."""
    from deliberation import hub

    monkeypatch.setattr(hub, "LOG_CHECK_INTERVAL", 0.1)
    scene = make_scene()
    current_seq = hub.current_seq
    failures = []

    def unreachable_once(room_id: int) -> int:
        if not failures:
            failures.append(room_id)
            raise ConnectionError("the database is unreachable")
        return current_seq(room_id)

    async def go():
        alice = await connected(scene.room.pk, scene.alice)
        bob = await connected(scene.room.pk, scene.bob)
        monkeypatch.setattr(hub, "current_seq", unreachable_once)
        # Wait for the hub's next log check to fail, however long this machine takes.
        for _ in range(1000):
            if failures:
                break
            await asyncio.sleep(0.01)
        await alice.send_json_to({"type": "say", "kind": "message", "text": "still here?"})
        frames = [await expect_event(c, "said") for c in (alice, bob)]
        for c in (alice, bob):
            await c.disconnect()
        return frames

    frames = run(go())
    assert failures == [scene.room.pk]
    assert [f["seq"] for f in frames] == [2, 2]


def test_a_client_claiming_a_future_seq_still_gets_live_events():
    scene = make_scene()

    async def go():
        alice = await connected(scene.room.pk, scene.alice, last_seq=999)
        await alice.send_json_to({"type": "say", "kind": "message", "text": "hi"})
        frame = await expect_event(alice, "said")
        await alice.disconnect()
        return frame

    assert run(go())["seq"] == 2


def test_a_late_reader_replays_hidden_contributions_without_their_text():
    scene = make_scene()
    c = services.contribution_say(room=scene.room, actor=scene.alice, kind="message", text="Nasty")
    services.contribution_hide(
        room=scene.room, actor=scene.facilitator, contribution=c.pk, reason="x"
    )

    async def go():
        late = await connected(scene.room.pk, None, last_seq=None)
        await late.send_json_to({"type": "join", "last_seq": 0})
        frames = await frames_until(late, "joined")
        await late.disconnect()
        return frames

    assert "Nasty" not in json.dumps(run(go()))


# --- Bad input ------------------------------------------------------------------------------

BAD_FRAMES = [
    ("{not json", "bad_json"),
    ("[1, 2]", "bad_json"),
    ('"say"', "bad_json"),
    ('{"type": "shout", "text": "hi"}', "unknown_type"),
    ('{"text": "no type"}', "unknown_type"),
    ('{"type": "say", "kind": "message"}', "missing_field"),
    ('{"type": "say", "text": "no kind"}', "missing_field"),
    ('{"type": "say", "kind": "rant", "text": "hi"}', "invalid"),
    ('{"type": "say", "kind": "message", "text": ""}', "invalid"),
    ('{"type": "say", "kind": "message", "text": 42}', "invalid"),
    (json.dumps({"type": "say", "kind": "message", "text": "x" * 2001}), "too_long"),
    ('{"type": "say", "kind": "message", "text": "hi", "reply_to": "abc"}', "invalid"),
    ('{"type": "say", "kind": "message", "text": "hi", "reply_to": 999999}', "not_found"),
    ('{"type": "say", "kind": "for", "text": "hi", "proposal": 999999}', "not_found"),
    ('{"type": "react", "contribution": 999999, "reaction": "agree"}', "not_found"),
    ('{"type": "react", "contribution": "HIDDEN", "reaction": "agree"}', "not_found"),
    ('{"type": "react", "contribution": "VISIBLE", "reaction": "love"}', "invalid"),
    ('{"type": "react", "reaction": "agree"}', "missing_field"),
    ('{"type": "hand"}', "missing_field"),
    ('{"type": "hand", "raised": "maybe"}', "invalid"),
    ('{"type": "hand", "raised": false}', "conflict"),
    ('{"type": "poll_vote", "poll": 999999, "option": 1}', "not_found"),
    ('{"type": "join", "last_seq": -1}', "invalid"),
    ('{"type": "join", "last_seq": 18446744073709551616}', "invalid"),  # 2**64
    ('{"type": "join", "last_seq": 1e400}', "invalid"),  # infinity, once parsed
    ('{"type": "join", "last_seq": ' + "9" * 5000 + "}", "bad_json"),  # too many digits
    (json.dumps({"type": "say", "kind": "message", "text": "x" * 70_000}), "too_large"),
    ("\u00e9" * 40_000, "too_large"),  # 40,000 characters, 80,000 bytes
    ('{"type": "join", "last_seq": "soon"}', "invalid"),
    ('{"type": "next_speaker"}', "not_allowed"),
    ('{"type": "agenda", "step": 1}', "not_allowed"),
    ('{"type": "timer", "seconds": 60}', "not_allowed"),
    ('{"type": "poll_open", "question": "Q", "options": ["a", "b"]}', "not_allowed"),
    ('{"type": "poll_close", "poll": "POLL"}', "not_allowed"),
    ('{"type": "pin", "contribution": "VISIBLE"}', "not_allowed"),
    ('{"type": "hide", "contribution": "VISIBLE", "reason": "mine"}', "not_allowed"),
    ('{"type": "mute", "user": "BOB", "reason": "quiet"}', "not_allowed"),
    ('{"type": "close", "summary": "bye"}', "not_allowed"),
    ('{"type": "open"}', "not_allowed"),
]


@pytest.mark.parametrize(("text", "code"), BAD_FRAMES)
def test_bad_input_gets_an_error_frame_stores_nothing_and_keeps_the_connection(text, code):
    scene = make_scene()
    visible = services.contribution_say(room=scene.room, actor=scene.bob, kind="message", text="ok")
    hidden = services.contribution_say(room=scene.room, actor=scene.bob, kind="message", text="no")
    services.contribution_hide(
        room=scene.room, actor=scene.facilitator, contribution=hidden.pk, reason="x"
    )
    poll = services.poll_open(
        room=scene.room, actor=scene.facilitator, question="Q", options=["a", "b"]
    )
    text = (
        text.replace('"HIDDEN"', str(hidden.pk))
        .replace('"VISIBLE"', str(visible.pk))
        .replace('"POLL"', str(poll.pk))
        .replace('"BOB"', str(scene.bob.pk))
    )
    before = RoomEvent.objects.count()

    async def go():
        alice = await connected(scene.room.pk, scene.alice, last_seq=before)
        await alice.send_to(text_data=text)
        error = await expect_error(alice, code)
        await alice.send_json_to({"type": "say", "kind": "message", "text": "still here"})
        still = await expect_event(alice, "said")
        await alice.disconnect()
        return error, still

    _error, still = run(go())
    assert still["seq"] == before + 1
    assert RoomEvent.objects.count() == before + 1
    assert Contribution.objects.filter(author=scene.alice).count() == 1
    assert Reaction.objects.count() == 0 and PollVote.objects.count() == 0
    assert Poll.objects.count() == 1


def test_error_frames_echo_the_clients_ref():
    scene = make_scene()

    async def go():
        alice = await connected(scene.room.pk, scene.alice)
        await alice.send_json_to({"type": "say", "kind": "message", "text": "", "ref": "f1"})
        frame = await expect_error(alice, "invalid")
        await alice.disconnect()
        return frame

    frame = run(go())
    assert frame["ref"] == "f1" and frame["fields"] == {"text": ["Write some text."]}


def test_rate_limit_answers_rate_limited_and_keeps_the_connection(clock):
    # The test clock stands still: the eleven frames are all within the same 60 seconds.
    scene = make_scene()
    eager = make_resident(scene.area)

    async def go():
        comm = await connected(scene.room.pk, eager)
        for i in range(10):
            await comm.send_json_to({"type": "say", "kind": "message", "text": f"#{i}"})
            await expect_event(comm, "said")
        await comm.send_json_to({"type": "say", "kind": "message", "text": "#11"})
        await expect_error(comm, "rate_limited")
        await comm.send_json_to({"type": "hand", "raised": True})
        await expect_event(comm, "reactions")
        await comm.disconnect()

    run(go())
    assert Contribution.objects.filter(author=eager).count() == 10


# --- Who may connect ------------------------------------------------------------------------


def test_anonymous_may_read_but_not_speak(layer):
    scene = make_scene()

    async def go():
        reader = await connected(scene.room.pk, None)
        await reader.send_json_to({"type": "say", "kind": "message", "text": "hi"})
        await expect_error(reader, "not_allowed")
        alice = await connected(scene.room.pk, scene.alice)
        await alice.send_json_to({"type": "say", "kind": "message", "text": "hello"})
        frame = await expect_event(reader, "said")
        for c in (reader, alice):
            await c.disconnect()
        return frame

    assert run(go())["data"]["text"] == "hello"


def test_unknown_room_is_closed_with_4404():
    async def go():
        comm = communicator(987654)
        connected_, _ = await comm.connect()
        out = await comm.receive_output(timeout=5)
        await comm.wait()
        return connected_, out

    _ok, out = run(go())
    assert out == {"type": "websocket.close", "code": 4404}


def test_room_of_a_draft_round_is_closed_with_4403_for_residents():
    scene = make_scene(phase="draft")

    async def go():
        comm = communicator(scene.room.pk, scene.alice)
        await comm.connect()
        out = await comm.receive_output(timeout=5)
        await comm.wait()
        return out

    assert run(go()) == {"type": "websocket.close", "code": 4403}


def test_a_signed_in_resident_speaks_through_the_whole_asgi_stack():
    scene = make_scene()
    client = Client()
    client.force_login(scene.alice)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()

    async def go():
        comm = WebsocketCommunicator(
            application,
            f"/ws/rooms/{scene.room.pk}/",
            headers=[*SAME_ORIGIN, (b"cookie", cookie)],
        )
        assert (await comm.connect())[0]
        await comm.send_json_to({"type": "join", "last_seq": 1})
        await frames_until(comm, "joined")
        await comm.send_json_to({"type": "say", "kind": "message", "text": "via cookie"})
        frame = await expect_event(comm, "said")
        await comm.disconnect()
        return frame

    assert run(go())["data"]["author"]["id"] == scene.alice.pk


def test_room_frames_skip_the_middleware_and_frames_cost_no_trip_to_the_database_thread(
    monkeypatch,
):
    """Through the whole stack, a room's frames go to the server's own send (``DirectSend``),
    not through the session middleware, which looked at the session for every frame of every
    fan-out; and a frame is not preceded by Channels' ``close_old_connections`` trip to the
    thread contributions use. The handshake still goes through the middleware."""
    from channels import consumer as channels_consumer
    from channels.sessions import InstanceSessionWrapper

    seen_by_sessions: list[str] = []
    real_send = InstanceSessionWrapper.send

    async def watched(self, message):
        seen_by_sessions.append(message["type"])
        await real_send(self, message)

    trips: list[int] = []

    async def trip():
        trips.append(1)

    monkeypatch.setattr(InstanceSessionWrapper, "send", watched)
    monkeypatch.setattr(channels_consumer, "aclose_old_connections", trip)
    scene = make_scene()
    client = Client()
    client.force_login(scene.alice)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()

    async def go():
        comm = WebsocketCommunicator(
            application,
            f"/ws/rooms/{scene.room.pk}/",
            headers=[*SAME_ORIGIN, (b"cookie", cookie)],
        )
        assert (await comm.connect())[0]
        await comm.send_json_to({"type": "join", "last_seq": 0})
        replay = await frames_until(comm, "joined")
        await comm.send_json_to({"type": "say", "kind": "message", "text": "direct"})
        frame = await expect_event(comm, "said")
        await comm.disconnect()
        return replay, frame

    replay, frame = run(go())
    assert [f.get("event") for f in replay] == ["opened", None]
    assert frame["data"]["text"] == "direct"
    assert seen_by_sessions == ["websocket.accept"]
    assert trips == []


def test_a_foreign_origin_is_refused():
    scene = make_scene()

    async def go():
        comm = WebsocketCommunicator(
            application,
            f"/ws/rooms/{scene.room.pk}/",
            headers=[(b"origin", b"https://evil.example")],
        )
        ok, _ = await comm.connect()
        return ok

    assert run(go()) is False


def test_a_service_call_outside_the_socket_is_broadcast_after_commit(layer):
    scene = make_scene()

    async def go():
        alice = await connected(scene.room.pk, scene.alice)
        await sync_to_async(services.agenda_step)(
            room=scene.room.pk, actor=scene.facilitator, step=1
        )
        frame = await expect_event(alice, "agenda")
        await alice.disconnect()
        return frame

    assert run(go())["data"]["item"]["title"] == "Welcome"

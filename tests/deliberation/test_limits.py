"""Bounded rooms (issue 13, item 7): frame size, frames per connection, one full replay per
connection, presence of signed-in people only, sockets closed on logout or deactivation, and
the Origin compared in scheme, host and port."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.db import transaction
from django.test import Client
from django.urls import reverse

from backend.accounts.events import account_closed_announce
from backend.asgi import application
from deliberation import consumers, services
from deliberation.models import Contribution
from tests.deliberation.conftest import (
    SAME_ORIGIN,
    communicator,
    connected,
    frames_until,
    make_scene,
    next_frame,
)

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]


def run(coro: Any) -> Any:
    return asyncio.run(coro)


async def expect_error(comm: WebsocketCommunicator, code: str) -> dict[str, Any]:
    frame = await next_frame(comm)
    assert frame["type"] == "error" and frame["code"] == code, frame
    assert frame["detail"]
    return frame


async def still_speaks(comm: WebsocketCommunicator, text: str = "still here") -> None:
    await comm.send_json_to({"type": "say", "kind": "message", "text": text})
    frame = await next_frame(comm)
    assert frame["type"] == "event" and frame["data"]["text"] == text, frame


async def closed_with(comm: WebsocketCommunicator) -> int:
    """The close code, skipping whatever frames come before it."""
    while True:
        out = await comm.receive_output(timeout=5)
        if out["type"] == "websocket.close":
            return int(out["code"])


# --- Frame size --------------------------------------------------------------------------


def test_every_server_configuration_refuses_frames_over_64_kib():
    """uvicorn accepted 15 MiB frames: its default is 16 MiB unless told."""
    limit = consumers.MAX_FRAME_BYTES
    assert limit == 64 * 1024 == django_settings.WEBSOCKET_MAX_BYTES
    assert limit == django_settings.DAPHNE_WEBSOCKET_MAX_MESSAGE_SIZE  # runserver (daphne)
    assert limit == django_settings.DAPHNE_WEBSOCKET_MAX_FRAME_SIZE
    makefile = (ROOT / "Makefile").read_text()
    assert f"WS_MAX_SIZE := {limit}" in makefile
    uvicorn_lines = [line for line in makefile.splitlines() if "bin/uvicorn " in line]
    assert uvicorn_lines
    for n, line in enumerate(makefile.splitlines()):
        if "bin/uvicorn " in line:
            command = " ".join(makefile.splitlines()[n : n + 3])
            assert "--ws-max-size $(WS_MAX_SIZE)" in command, command
    compose = (ROOT / "docker-compose.yml").read_text()
    commands = re.findall(r'command: \["uvicorn".*?\]', compose, re.S)
    assert commands and all(f'"--ws-max-size", "{limit}"' in c for c in commands), commands
    assert f"ENV UVICORN_WS_MAX_SIZE={limit}" in (ROOT / "Dockerfile").read_text()


def test_a_frame_over_64_kib_that_gets_through_is_answered_with_an_error_and_stores_nothing():
    scene = make_scene()
    frame = json.dumps({"type": "say", "kind": "message", "text": "x" * (64 * 1024)})

    async def go() -> dict[str, Any]:
        alice = await connected(scene.room.pk, scene.alice, last_seq=1)
        await alice.send_to(text_data=frame)
        error = await expect_error(alice, "too_large")
        await alice.send_to(bytes_data=b"{" * (64 * 1024 + 1))
        await expect_error(alice, "too_large")
        await still_speaks(alice)
        await alice.disconnect()
        return error

    assert "64" in run(go())["detail"]
    assert list(Contribution.objects.values_list("text", flat=True)) == ["still here"]


# --- Frames per connection -------------------------------------------------------------------


def test_a_connection_over_its_frame_rate_is_told_then_closed_when_it_keeps_on(monkeypatch):
    """The clock of the limits stands still: no frame allowance comes back during the test."""
    now = [1000.0]
    monkeypatch.setattr(consumers, "frame_clock", lambda: now[0])
    scene = make_scene()

    async def go() -> tuple[list[str], int]:
        comm = await connected(scene.room.pk, scene.bob, last_seq=None)
        codes = []
        for _ in range(consumers.FRAME_BURST):
            await comm.send_to(text_data="{not json")
            codes.append((await next_frame(comm))["code"])
        assert set(codes) == {"bad_json"}
        await comm.send_to(text_data="{not json")
        told = await expect_error(comm, "rate_limited")
        # A second later it has earned FRAME_RATE frames back: it may go on, slower.
        now[0] += 1
        for _ in range(int(consumers.FRAME_RATE)):
            await comm.send_json_to({"type": "join", "last_seq": 1})
            assert (await frames_until(comm, "joined"))[-1]["type"] == "joined"
        errors = []
        for _ in range(consumers.STRIKES_BEFORE_CLOSE):
            await comm.send_to(text_data='{"type": "hand", "raised": true}')
            errors.append((await next_frame(comm))["code"])
        assert set(errors) == {"rate_limited"}  # told each time, still open
        await comm.send_to(text_data="{not json")
        last = await next_frame(comm)
        code = await closed_with(comm)
        return [told["detail"], last["detail"]], code

    details, code = run(go())
    assert code == consumers.CLOSE_TOO_FAST
    assert "closed" in details[1]


# --- Replays -----------------------------------------------------------------------------------


def test_a_full_replay_is_given_once_per_connection_and_the_socket_stays_open():
    """100 joins with last_seq 0 each re-sent the whole log."""
    scene = make_scene()
    services.contribution_say(room=scene.room, actor=scene.bob, kind="message", text="one")

    async def go() -> tuple[list[dict[str, Any]], dict[str, Any]]:
        comm = communicator(scene.room.pk, scene.alice)
        assert (await comm.connect())[0]
        await comm.send_json_to({"type": "join", "last_seq": 0})
        first = await frames_until(comm, "joined")
        await comm.send_json_to({"type": "join", "last_seq": 0, "ref": "again"})
        refused = await expect_error(comm, "replay_limit")
        # Joining from where it is costs nothing and is still allowed.
        await comm.send_json_to({"type": "join", "last_seq": 2})
        assert await frames_until(comm, "joined") == [{"type": "joined", "last_seq": 2, "count": 1}]
        await still_speaks(comm)
        await comm.disconnect()
        return first, refused

    first, refused = run(go())
    assert [f.get("seq") for f in first] == [1, 2, None]
    assert refused["ref"] == "again" and refused["fields"] == {"last_seq": [refused["detail"]]}


def test_a_join_far_behind_counts_as_the_full_replay(monkeypatch):
    monkeypatch.setattr(consumers, "FULL_REPLAY_EVENTS", 2)
    scene = make_scene()
    for text in ("a", "b", "c"):
        services.contribution_say(room=scene.room, actor=scene.bob, kind="message", text=text)

    async def go() -> None:
        comm = communicator(scene.room.pk, scene.alice)
        assert (await comm.connect())[0]
        await comm.send_json_to({"type": "join", "last_seq": 1})  # 3 behind: a full replay
        await frames_until(comm, "joined")
        await comm.send_json_to({"type": "join", "last_seq": 1})
        await expect_error(comm, "replay_limit")
        await comm.send_json_to({"type": "join", "last_seq": 3})  # 1 behind: fine
        replay = await frames_until(comm, "joined")
        assert [f.get("seq") for f in replay] == [4, None]
        await comm.disconnect()

    run(go())


# --- Presence ----------------------------------------------------------------------------------


def test_presence_counts_signed_in_people_who_joined_once_each():
    """Anonymous sockets counted as "people here", as did sockets that never joined."""
    scene = make_scene()

    async def count_after_join(comm: WebsocketCommunicator) -> int:
        await comm.send_json_to({"type": "join", "last_seq": 1})
        return int((await frames_until(comm, "joined"))[-1]["count"])

    async def go() -> list[int]:
        counts = []
        alice = communicator(scene.room.pk, scene.alice)
        await alice.connect()
        counts.append(await count_after_join(alice))
        anonymous = communicator(scene.room.pk, None)
        await anonymous.connect()
        counts.append(await count_after_join(anonymous))
        bob_idle = communicator(scene.room.pk, scene.bob)  # connected, never joins
        await bob_idle.connect()
        alice_tab = communicator(scene.room.pk, scene.alice)
        await alice_tab.connect()
        counts.append(await count_after_join(alice_tab))
        await alice_tab.disconnect()
        counts.append(await count_after_join(anonymous))
        fran = communicator(scene.room.pk, scene.facilitator)
        await fran.connect()
        counts.append(await count_after_join(fran))
        for comm in (alice, anonymous, bob_idle, fran):
            await comm.disconnect()
        return counts

    assert run(go()) == [1, 1, 1, 1, 2]


# --- Logging out and deactivation ---------------------------------------------------------------


def session_socket(room_id: int, client: Client) -> WebsocketCommunicator:
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    return WebsocketCommunicator(
        application, f"/ws/rooms/{room_id}/", headers=[*SAME_ORIGIN, (b"cookie", cookie)]
    )


def test_logging_out_closes_that_sessions_sockets_and_no_others():
    """An account that logged out kept speaking on its open socket."""
    scene = make_scene()
    laptop, phone = Client(), Client()
    laptop.force_login(scene.alice)
    phone.force_login(scene.alice)

    async def go() -> tuple[dict[str, Any], int]:
        on_laptop = session_socket(scene.room.pk, laptop)
        on_phone = session_socket(scene.room.pk, phone)
        for comm in (on_laptop, on_phone):
            assert (await comm.connect())[0]
            await comm.send_json_to({"type": "join", "last_seq": 1})
            await frames_until(comm, "joined")
        answer = await sync_to_async(laptop.post)(reverse("logout"))
        assert answer.status_code in (200, 302)
        told = await expect_error(on_laptop, "signed_out")
        code = await closed_with(on_laptop)
        await still_speaks(on_phone, "from my phone")
        await on_phone.disconnect()
        return told, code

    _told, code = run(go())
    assert code == consumers.CLOSE_SIGNED_OUT
    assert list(Contribution.objects.values_list("text", flat=True)) == ["from my phone"]


def test_deactivating_an_account_closes_its_sockets():
    scene = make_scene()

    def deactivate() -> None:
        with transaction.atomic():
            type(scene.alice).objects.filter(pk=scene.alice.pk).update(is_active=False)
            account_closed_announce(user_id=scene.alice.pk)

    async def go() -> int:
        alice = await connected(scene.room.pk, scene.alice, last_seq=1)
        await sync_to_async(deactivate)()
        await expect_error(alice, "signed_out")
        return await closed_with(alice)

    assert run(go()) == consumers.CLOSE_SIGNED_OUT


def test_a_deactivated_account_whose_close_was_lost_is_stopped_at_its_next_frame(monkeypatch):
    """As when Redis restarts: the announcement never arrives; the frame's own check stops it."""
    scene = make_scene()

    async def go() -> int:
        alice = await connected(scene.room.pk, scene.alice, last_seq=1)
        await sync_to_async(type(scene.alice).objects.filter(pk=scene.alice.pk).update)(
            is_active=False
        )
        await alice.send_json_to({"type": "say", "kind": "message", "text": "I am still here"})
        await expect_error(alice, "signed_out")
        return await closed_with(alice)

    assert run(go()) == consumers.CLOSE_SIGNED_OUT
    assert not Contribution.objects.exists()


def test_the_admin_announces_a_deactivation(monkeypatch):
    from django.contrib import admin

    from backend.accounts import admin as accounts_admin

    scene = make_scene()
    announced: list[int] = []
    monkeypatch.setattr(
        accounts_admin, "account_closed_announce", lambda *, user_id: announced.append(user_id)
    )
    user_admin = admin.site._registry[type(scene.alice)]

    class Form:
        changed_data = ["is_active"]

    scene.alice.is_active = False
    user_admin.save_model(None, scene.alice, Form(), True)
    scene.bob.display_name = "Robert"
    Form.changed_data = ["display_name"]
    user_admin.save_model(None, scene.bob, Form(), True)
    assert announced == [scene.alice.pk]


# --- Origin ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("origin", "host", "scheme", "accepted"),
    [
        ("http://127.0.0.1", "127.0.0.1", "ws", True),
        ("http://127.0.0.1:8000", "127.0.0.1:8000", "ws", True),
        ("https://localhost", "localhost", "wss", True),
        ("http://127.0.0.1:8000", "127.0.0.1", "ws", False),  # another port
        ("http://127.0.0.1", "127.0.0.1:8001", "ws", False),
        ("https://127.0.0.1", "127.0.0.1", "ws", False),  # another scheme
        ("http://localhost", "localhost", "wss", False),
        ("http://localhost", "127.0.0.1", "ws", False),  # another host, though allowed
        ("https://evil.example", "127.0.0.1", "ws", False),
        ("http://evil.example", "evil.example", "ws", False),  # not in ALLOWED_HOSTS
        ("null", "127.0.0.1", "ws", False),
        ("", "127.0.0.1", "ws", False),
    ],
)
def test_the_origin_must_match_in_scheme_host_and_port(origin, host, scheme, accepted, settings):
    """The Origin check ignored scheme and port."""
    settings.SITE_URL = "https://council.example"  # not one of these, which it would allow
    scene = make_scene()

    async def go() -> bool:
        headers = [(b"host", host.encode())]
        if origin:
            headers.append((b"origin", origin.encode()))
        comm = WebsocketCommunicator(application, f"/ws/rooms/{scene.room.pk}/", headers=headers)
        comm.scope["scheme"] = scheme
        ok, _ = await comm.connect()
        if ok:
            await comm.disconnect()
        return bool(ok)

    assert run(go()) is accepted


def test_the_sites_own_address_and_trusted_origins_are_accepted(settings):
    settings.SITE_URL = "https://council.example"
    settings.CSRF_TRUSTED_ORIGINS = ["https://venue.example:8443"]
    scene = make_scene()

    async def attempt(origin: str) -> bool:
        comm = WebsocketCommunicator(
            application,
            f"/ws/rooms/{scene.room.pk}/",
            headers=[(b"host", b"127.0.0.1"), (b"origin", origin.encode())],
        )
        ok, _ = await comm.connect()
        if ok:
            await comm.disconnect()
        return bool(ok)

    async def go() -> list[bool]:
        return [
            await attempt(o)
            for o in (
                "https://council.example",
                "https://council.example:443",
                "https://venue.example:8443",
                "http://council.example",
                "https://venue.example",
            )
        ]

    assert run(go()) == [True, True, True, False, False]


# --- Nothing after a close ----------------------------------------------------------------------


def test_nothing_is_sent_after_a_close_and_a_failed_send_costs_only_that_connection():
    """Found by bench/ws_flood.py: a live event or an answer still on its way when the
    connection was closed was sent anyway, uvicorn raised ("Unexpected ASGI message
    'websocket.send', after sending 'websocket.close'") and the connection ended with a
    traceback. Here the server raises the same way for any send after the close."""
    from deliberation import hub

    scene = make_scene()

    async def go() -> tuple[list[str], dict[str, Any]]:
        alice = await connected(scene.room.pk, scene.alice, last_seq=1)
        bob = await connected(scene.room.pk, scene.bob, last_seq=1)
        room_hub = hub.hubs.get(scene.room.pk)
        assert room_hub is not None
        member = next(m for m in room_hub.members if m.user == scene.bob)
        real_send, sent = member.base_send, []

        async def strict_server(message: dict[str, Any]) -> None:
            if "websocket.close" in sent:
                raise RuntimeError("Unexpected ASGI message after sending 'websocket.close'")
            sent.append(message["type"])
            await real_send(message)

        member.base_send = strict_server
        await member.shut(consumers.CLOSE_TOO_FAST)
        await member.send_error("rate_limited", "late answer")  # dropped, no raise
        await alice.send_json_to({"type": "say", "kind": "message", "text": "after the close"})
        heard = await next_frame(alice)  # the hub's fan-out to bob is dropped too
        await alice.send_json_to({"type": "say", "kind": "message", "text": "and again"})
        await next_frame(alice)
        assert await closed_with(bob) == consumers.CLOSE_TOO_FAST
        await bob.disconnect()  # re-raises anything the consumer raised
        await alice.disconnect()
        return sent, heard

    sent, heard = run(go())
    assert sent == ["websocket.close"]
    assert heard["data"]["text"] == "after the close"


def test_an_answer_to_a_client_that_vanished_ends_only_that_connection():
    scene = make_scene()

    async def go() -> dict[str, Any]:
        alice = await connected(scene.room.pk, scene.alice, last_seq=1)
        bob = await connected(scene.room.pk, scene.bob, last_seq=1)
        from deliberation import hub

        room_hub = hub.hubs.get(scene.room.pk)
        assert room_hub is not None
        member = next(m for m in room_hub.members if m.user == scene.bob)

        async def vanished(message: dict[str, Any]) -> None:
            raise ConnectionResetError("the client went away")

        member.base_send = vanished
        await bob.send_to(text_data="{not json")  # its error frame cannot be written
        await alice.send_json_to({"type": "say", "kind": "message", "text": "still on"})
        heard = await next_frame(alice)
        await bob.disconnect()  # re-raises anything the consumer raised
        await alice.disconnect()
        assert member.closing
        return heard

    assert run(go())["data"]["text"] == "still on"

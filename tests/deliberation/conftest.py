"""Rooms with a facilitator and two residents, and helpers to drive the live protocol."""

from __future__ import annotations

import datetime as dt
import uuid
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from channels.layers import channel_layers
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.utils import timezone

from backend.accounts.models import Role, User
from deliberation import services
from deliberation.models import Room
from deliberation.routing import websocket_urlpatterns
from pb.areas.models import Area
from pb.proposals.models import Proposal
from pb.rounds.models import Round, RoundArea
from tests.conftest import need_redis
from tests.factories import AreaFactory, RoundFactory, UserFactory

ORIGIN = [(b"origin", b"http://127.0.0.1")]
#: What a browser on http://127.0.0.1/ sends with the handshake: its Origin and the Host.
SAME_ORIGIN = [*ORIGIN, (b"host", b"127.0.0.1")]


@dataclass
class Scene:
    round: Round
    area: Area
    proposal: Proposal
    room: Room
    facilitator: User
    alice: User
    bob: User


def make_resident(area: Area | None, *, checked: bool = True, **kwargs: Any) -> User:
    """A resident of ``area``, whose home area the council has checked unless ``checked`` is
    False (only checked residents speak in an area's room)."""
    user = UserFactory(**kwargs)
    if area is not None:
        user.profile.home_area = area
        user.profile.verified = checked
        user.profile.save()
    return user


def make_scene(
    *, phase: str = "deliberation", open_room: bool = True, area_room: bool = False
) -> Scene:
    area = AreaFactory()
    round_ = RoundFactory(phase=phase)
    RoundArea.objects.create(round=round_, area=area)
    proposal = Proposal.objects.create(
        round=round_,
        area=area,
        title="A new bench by the pond",
        description="Somewhere to sit.",
        estimated_cost=120_000,
        status="feasible",
    )
    facilitator = UserFactory(role=Role.FACILITATOR, display_name="Fran Facilitator")
    room = services.room_create(
        actor=facilitator,
        round=round_,
        title="Parks evening",
        starts_at=timezone.now(),
        ends_at=timezone.now() + dt.timedelta(hours=2),
        area=area if area_room else None,
        proposal=proposal,
        agenda=["Welcome", "The bench", "Quick poll"],
    )
    if open_room:
        services.room_open(room=room, actor=facilitator)
        room.refresh_from_db()
    return Scene(
        round=round_,
        area=area,
        proposal=proposal,
        room=room,
        facilitator=facilitator,
        alice=make_resident(area, display_name="Alice"),
        bob=make_resident(area, display_name="Bob"),
    )


def forget_connections_of_the_async_thread() -> None:
    """Consumers reach the database through asgiref's one thread-sensitive thread, which every
    later test shares. Leave no connection in it: a test without database access would trip
    over it (``close_old_connections`` asks it for its autocommit state). SQLite's in-memory
    test database ignores ``close()``, so its connection object is dropped instead."""
    from asgiref.sync import SyncToAsync
    from django.db import connections

    def forget() -> None:
        for conn in connections.all(initialized_only=True):
            if conn.vendor == "sqlite" and conn.is_in_memory_db():
                del connections[conn.alias]
            else:
                conn.close()

    SyncToAsync.single_thread_executor.submit(forget).result(timeout=10)
    # Reaction and hand frames have database threads of their own: one job each, held until
    # all have started, so every thread forgets its connections.
    import threading

    from deliberation.light import THREAD_COUNT, THREADS

    started = threading.Barrier(THREAD_COUNT)

    def forget_in_step() -> None:
        started.wait(timeout=10)
        forget()

    for job in [THREADS.submit(forget_in_step) for _ in range(THREAD_COUNT)]:
        job.result(timeout=20)


@pytest.fixture(autouse=True)
def _no_connection_left_in_the_async_thread() -> Iterator[None]:
    yield
    forget_connections_of_the_async_thread()


@pytest.fixture(autouse=True)
def _own_cache_keys(monkeypatch: Any) -> None:
    """Rate limits and presence counts live in the shared cache (Redis in CI); give each test
    its own keys so reruns and neighbours cannot leave counts behind."""
    from deliberation import hub, light

    salt = uuid.uuid4().hex[:8]
    monkeypatch.setattr(services, "RATE_KEY_PREFIX", f"delib-rate-{salt}")
    monkeypatch.setattr(hub, "PRESENCE_KEY_PREFIX", f"delib-presence-{salt}")
    monkeypatch.setattr(light, "KEY_PREFIX", f"delib-light-{salt}")


@pytest.fixture
def scene(db: Any) -> Scene:
    return make_scene()


@pytest.fixture(params=["memory", "redis"])
def layer(request: Any, settings: Any) -> Iterator[str]:
    """Run a consumer test on the in-memory layer and, where Redis is available, on the
    production layer (channels-redis pub/sub)."""
    if request.param == "redis":
        url = need_redis()
        settings.CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
                "CONFIG": {"hosts": [url], "prefix": f"test-{uuid.uuid4().hex[:8]}"},
            }
        }
    else:
        settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    channel_layers.backends.clear()
    yield request.param
    channel_layers.backends.clear()


def communicator(room_id: int, user: Any = None) -> WebsocketCommunicator:
    """A connection as ``user`` (anonymous when None), past the auth middleware."""
    from django.contrib.auth.models import AnonymousUser

    comm = WebsocketCommunicator(
        URLRouter(websocket_urlpatterns), f"/ws/rooms/{room_id}/", headers=ORIGIN
    )
    comm.scope["user"] = user if user is not None else AnonymousUser()
    return comm


async def connected(
    room_id: int, user: Any = None, last_seq: int | None = 0
) -> WebsocketCommunicator:
    """Connect and, unless ``last_seq`` is None, join and read up to the ``joined`` frame."""
    comm = communicator(room_id, user)
    ok, _ = await comm.connect()
    assert ok
    if last_seq is not None:
        await comm.send_json_to({"type": "join", "last_seq": last_seq})
        await frames_until(comm, "joined")
    return comm


# Events of a batch frame not yet handed out, per connection. Keyed by the communicator itself
# (weakly), not by id(): Python reuses the id of a freed object, so a later test's connection
# could inherit another's leftover frames.
_unbatched: weakref.WeakKeyDictionary[WebsocketCommunicator, list[dict[str, Any]]] = (
    weakref.WeakKeyDictionary()
)


async def next_frame(comm: WebsocketCommunicator, timeout: float = 5) -> dict[str, Any]:
    """The next frame that is not a presence announcement; the events of a ``batch`` frame
    come one by one, as if they had been sent singly."""
    waiting = _unbatched.setdefault(comm, [])
    while True:
        if waiting:
            return waiting.pop(0)
        frame = await comm.receive_json_from(timeout=timeout)
        if frame["type"] == "batch":
            assert all(e["type"] == "event" for e in frame["events"]), frame
            waiting.extend(frame["events"])
        elif frame["type"] != "presence":
            return frame


async def frames_until(comm: WebsocketCommunicator, type_: str) -> list[dict[str, Any]]:
    """Frames (presence excluded) up to and including the first of ``type_``."""
    seen = []
    while True:
        frame = await next_frame(comm)
        seen.append(frame)
        if frame["type"] == type_:
            return seen


async def no_more_frames(comm: WebsocketCommunicator, attempts: int = 5) -> None:
    """Nothing but presence announcements reaches ``comm`` before a marker sent through the
    room's channel group now.

    No timeout decides it: every event whose service call has returned was already published
    to the layer (broadcast on commit), the layer keeps order and the hub sends a batch's
    events before its presence frame, so anything still due arrives before the marker. The
    hub keeps only the last presence of a batch, so a real announcement can replace the
    marker: then a new marker is sent.
    """
    import json

    from channels.layers import get_channel_layer

    from deliberation.services import group_name

    assert not _unbatched.get(comm), f"frames not read yet: {_unbatched.get(comm)}"
    room_id = int(comm.scope["path"].rstrip("/").rsplit("/", 1)[-1])
    layer = get_channel_layer()
    for _ in range(attempts):
        marker = uuid.uuid4().hex
        text = json.dumps({"type": "presence", "count": 0, "marker": marker})
        await layer.group_send(group_name(room_id), {"type": "room.presence", "text": text})
        while True:
            frame = await comm.receive_json_from(timeout=10)
            assert frame["type"] == "presence", frame
            if frame.get("marker") == marker:
                return
            if "marker" not in frame:  # a real announcement, maybe in the marker's place
                break
    raise AssertionError(f"no marker came back through room {room_id} in {attempts} tries")

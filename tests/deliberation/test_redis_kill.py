"""A live room whose Redis connections are killed for real (``CLIENT KILL``), not monkeypatched:
the hub's subscription comes back and no client loses or repeats an event.

Only this test's own connections are killed: the channel layer here names its connections
(``CLIENT SETNAME``) with a name made for the test, and the test kills the connections that
carry that name, one by one by id. Redis itself, and every other client of it (other tests,
other processes on the machine), is left alone.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from asgiref.sync import sync_to_async
from channels.layers import channel_layers

from deliberation import services
from deliberation.services import group_name
from tests.conftest import need_redis
from tests.deliberation.conftest import connected, make_scene, next_frame, no_more_frames

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.redis]


class Layer:
    """The production channel layer (channels-redis pub/sub) on connections named ``name``."""

    def __init__(self, url: str) -> None:
        tag = uuid.uuid4().hex[:8]
        self.name = f"cp-test-kill-{tag}"
        self.prefix = f"test-kill-{tag}"
        self.url = url
        self.admin = redis.Redis.from_url(url)

    def config(self) -> dict[str, Any]:
        return {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {
                "hosts": [{"address": self.url, "client_name": self.name}],
                "prefix": self.prefix,
            },
        }

    def connections(self, type_: str | None = None) -> list[dict[str, Any]]:
        listed = self.admin.client_list(_type=type_) if type_ else self.admin.client_list()
        return [c for c in listed if c.get("name") == self.name]

    def kill_all(self) -> list[str]:
        """Kill every connection of this layer (the subscriptions and the publishing pool)."""
        ids = [c["id"] for c in self.connections()]
        for id_ in ids:
            self.admin.client_kill_filter(_id=id_)
        return ids

    def subscribers(self, group: str) -> int:
        ((_, count),) = self.admin.pubsub_numsub(f"{self.prefix}__group__{group}")
        return int(count)


@pytest.fixture
def killable(settings: Any) -> Iterator[Layer]:
    layer = Layer(need_redis())
    settings.CHANNEL_LAYERS = {"default": layer.config()}
    channel_layers.backends.clear()
    yield layer
    channel_layers.backends.clear()
    layer.admin.close()


async def expect_said(comm: Any) -> dict[str, Any]:
    frame = await next_frame(comm)
    assert frame["type"] == "event" and frame["event"] == "said", frame
    return frame


def test_the_layers_connections_killed_under_a_live_room_lose_no_event(monkeypatch, killable):
    from deliberation import hub

    # The hub compares the log with what it delivered after this long without an event; a
    # short interval only makes a lost event come back sooner (its arrival is awaited, not
    # timed).
    monkeypatch.setattr(hub, "LOG_CHECK_INTERVAL", 0.2)
    scene = make_scene()
    group = group_name(scene.room.pk)
    say = sync_to_async(services.contribution_say)

    async def go() -> dict[str, Any]:
        alice = await connected(scene.room.pk, scene.alice)
        bob = await connected(scene.room.pk, scene.bob)
        subscribed_before = killable.subscribers(group)
        killed = killable.kill_all()
        # Said at once: published while the subscription is down or on its way back.
        await say(room=scene.room.pk, actor=scene.bob, kind="message", text="during")
        during = [await expect_said(c) for c in (alice, bob)]
        await say(room=scene.room.pk, actor=scene.alice, kind="message", text="after")
        after = [await expect_said(c) for c in (alice, bob)]
        # A marker sent through the layer now comes back through the hub: the room's live
        # path works again, not only the log check.
        for c in (alice, bob):
            await no_more_frames(c)
        back = killable.connections("pubsub")
        subscribed_after = killable.subscribers(group)
        for c in (alice, bob):
            await c.disconnect()
        return {
            "killed": killed,
            "back": [c["id"] for c in back],
            "before": subscribed_before,
            "after": subscribed_after,
            "during": during,
            "later": after,
        }

    seen = asyncio.run(go())

    assert seen["before"] == 1  # one subscription for the room in this process, not one each
    assert seen["killed"]
    assert seen["back"] and not set(seen["back"]) & set(seen["killed"])  # new connections
    assert seen["after"] == 1  # subscribed again, once
    # Event 1 is the room's opening, 2 and 3 the two messages: each client has both, in
    # order, once (no_more_frames found nothing else before the marker).
    assert [(f["seq"], f["data"]["text"]) for f in seen["during"]] == [(2, "during")] * 2
    assert [(f["seq"], f["data"]["text"]) for f in seen["later"]] == [(3, "after")] * 2

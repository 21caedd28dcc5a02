"""CI runs on the real PostgreSQL and Redis; these tests prove it did."""

from __future__ import annotations

import os

import pytest
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.db import connection

from backend.asgi import application
from tests.conftest import IN_CI, need


@pytest.mark.django_db
def test_database_is_postgresql_in_ci():
    if IN_CI:
        assert connection.vendor == "postgresql", "CI must run on PostgreSQL (DATABASE_URL)"
    need(connection.vendor == "postgresql", "PostgreSQL (set DATABASE_URL)")
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        assert "PostgreSQL" in cursor.fetchone()[0]


def test_redis_cache_round_trip():
    need(bool(os.environ.get("REDIS_URL")), "Redis (set REDIS_URL)")
    from django.core.cache import cache

    cache.set("commonpurse-ci-probe", "ok", 10)
    assert cache.get("commonpurse-ci-probe") == "ok"
    assert settings.CACHES["default"]["BACKEND"].endswith("RedisCache")


async def _ping_once() -> dict:
    communicator = WebsocketCommunicator(
        application,
        "/ws/ping/",
        headers=[(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1")],
    )
    connected, _ = await communicator.connect()
    assert connected
    await communicator.send_json_to({"hello": "there"})
    answer = await communicator.receive_json_from(timeout=5)
    await communicator.send_to(text_data="{broken")
    error = await communicator.receive_json_from(timeout=5)
    await communicator.disconnect()
    return {"answer": answer, "error": error}


def test_websocket_ping_answers_and_reports_bad_json():
    import asyncio

    result = asyncio.run(_ping_once())
    assert result["answer"] == {"type": "pong", "echo": {"hello": "there"}, "signed_in": False}
    assert result["error"]["type"] == "error" and result["error"]["code"] == "bad_json"


def test_websocket_from_a_foreign_origin_is_refused():
    import asyncio

    async def attempt() -> bool:
        communicator = WebsocketCommunicator(
            application, "/ws/ping/", headers=[(b"origin", b"https://evil.example")]
        )
        connected, _ = await communicator.connect()
        await communicator.disconnect()
        return connected

    assert asyncio.run(attempt()) is False


def test_channel_layer_delivers_through_redis_in_ci():
    import asyncio

    need(bool(os.environ.get("REDIS_URL")), "Redis (set REDIS_URL)")

    async def round_trip() -> dict:
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add("ci-probe", channel)
        await layer.group_send("ci-probe", {"type": "probe", "n": 1})
        message = await asyncio.wait_for(layer.receive(channel), 5)
        await layer.group_discard("ci-probe", channel)
        return message

    assert asyncio.run(round_trip())["n"] == 1
    assert "Redis" in settings.CHANNEL_LAYERS["default"]["BACKEND"]

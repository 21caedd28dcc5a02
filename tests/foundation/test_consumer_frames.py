"""Frames every consumer reads through ``JsonFrameConsumer.read_frame``: whatever the client
sends, it gets an ``error`` frame and the socket stays open (never a 1011 close)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from channels.testing import WebsocketCommunicator

from backend.consumers import PingConsumer


async def _send_then_ping(text: str) -> tuple[dict[str, Any], dict[str, Any]]:
    communicator = WebsocketCommunicator(PingConsumer.as_asgi(), "/ws/ping/")
    connected, _ = await communicator.connect()
    assert connected
    await communicator.send_to(text_data=text)
    error = await communicator.receive_json_from(timeout=5)
    await communicator.send_json_to({"still": "here"})
    pong = await communicator.receive_json_from(timeout=5)
    await communicator.disconnect()
    return error, pong


@pytest.mark.parametrize("text", ["[" * 100_000, '{"a":' * 100_000, "{broken"])
def test_a_frame_too_deep_or_broken_is_an_error_frame_and_the_socket_stays_open(text):
    error, pong = asyncio.run(_send_then_ping(text))
    assert error["type"] == "error" and error["code"] == "bad_json"
    assert pong == {"type": "pong", "echo": {"still": "here"}, "signed_in": False}

"""What a room may show (issue 13, items 3 and 5): only checked residents speak in an area's
room, a proposal named in a room is one every reader may see, and hiding a proposal takes its
title out of the rooms' logs."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from django.urls import reverse

from backend.accounts.models import Role
from deliberation import services
from deliberation.models import Contribution, RoomEvent
from pb.proposals.models import Proposal
from pb.proposals.services import proposal_hide
from tests.deliberation.conftest import (
    communicator,
    connected,
    frames_until,
    make_resident,
    make_scene,
    next_frame,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def act(client: Any, room: Any, **frame: Any) -> Any:
    return client.post(reverse("room_act", args=[room.pk]), frame)


def log_text(room: Any) -> str:
    return json.dumps([e.data for e in RoomEvent.objects.filter(room=room)])


def draft_of(scene: Any) -> Proposal:
    return Proposal.objects.create(
        round=scene.round,
        area=scene.area,
        author=scene.bob,
        title="Secret skate park plan",
        description="Not submitted yet.",
        estimated_cost=90_000,
        status="draft",
    )


# --- Checked residents only speak in an area's room ----------------------------------------


def test_an_unchecked_resident_reads_an_area_room_but_is_told_how_to_get_checked():
    """Five sign-ups that simply declared Marina could speak in its rooms."""
    scene = make_scene(area_room=True)
    declared = make_resident(scene.area, checked=False)

    async def go() -> tuple[dict[str, Any], dict[str, Any]]:
        comm = await connected(scene.room.pk, declared, last_seq=1)
        await comm.send_json_to({"type": "say", "kind": "message", "text": "I live here, honest"})
        refused = await next_frame(comm)
        await comm.send_json_to({"type": "hand", "raised": True})
        await next_frame(comm)
        alice = await connected(scene.room.pk, scene.alice, last_seq=1)  # checked: speaks
        await alice.send_json_to({"type": "say", "kind": "message", "text": "I am checked"})
        heard = await next_frame(comm)  # and the unchecked resident still reads it
        for c in (comm, alice):
            await c.disconnect()
        return refused, heard

    refused, heard = run(go())
    assert refused["type"] == "error" and refused["code"] == "not_checked"
    assert "profile page" in refused["detail"]
    assert heard["type"] == "event" and heard["data"]["text"] == "I am checked"
    assert list(Contribution.objects.values_list("text", flat=True)) == ["I am checked"]


def test_the_room_page_tells_an_unchecked_resident_how_to_get_checked(client):
    scene = make_scene(area_room=True)
    declared = make_resident(scene.area, checked=False)
    client.force_login(declared)
    page = client.get(reverse("room_detail", args=[scene.room.pk]))
    assert page.status_code == 200
    assert b"Only residents the council has checked speak" in page.content
    assert reverse("profile").encode() in page.content
    assert b'name="text"' not in page.content  # no form to speak with
    refused = act(client, scene.room, type="say", kind="message", text="Let me in")
    assert refused.status_code == 400
    assert b"Only residents the council has checked speak" in refused.content
    assert not Contribution.objects.exists()


def test_an_unchecked_resident_still_speaks_in_a_room_for_everyone():
    scene = make_scene()
    declared = make_resident(scene.area, checked=False)
    said = services.contribution_say(room=scene.room, actor=declared, kind="message", text="Hi")
    assert said.text == "Hi"


# --- Proposals named in a room -----------------------------------------------------------------


def test_a_draft_proposal_cannot_be_named_in_a_room_so_its_title_never_leaks(client):
    """POST /rooms/1/act/ type=say proposal=<draft id> put the draft's title in the log."""
    scene = make_scene()
    draft = draft_of(scene)
    client.force_login(scene.bob)  # even its own author: every reader would see the title
    answer = act(client, scene.room, type="say", kind="for", text="Mine!", proposal=draft.pk)
    assert answer.status_code == 400
    assert not Contribution.objects.exists()
    assert "Secret skate park" not in log_text(scene.room)
    reader = client.get(reverse("room_detail", args=[scene.room.pk]))
    assert b"Secret skate park" not in reader.content


@pytest.mark.parametrize("which", ["draft", "hidden"])
def test_a_frame_naming_a_proposal_readers_may_not_see_gets_an_error_frame(which):
    scene = make_scene()
    if which == "draft":
        target = draft_of(scene)
    else:
        target = scene.proposal
        Proposal.objects.filter(pk=target.pk).update(hidden=True, hidden_reason="Abusive")

    async def go() -> dict[str, Any]:
        alice = await connected(scene.room.pk, scene.alice, last_seq=1)
        await alice.send_json_to(
            {"type": "say", "kind": "against", "text": "No", "proposal": target.pk}
        )
        refused = await next_frame(alice)
        await alice.send_json_to({"type": "say", "kind": "message", "text": "still here"})
        still = await next_frame(alice)
        await alice.disconnect()
        return {"refused": refused, "still": still}

    frames = run(go())
    assert frames["refused"]["type"] == "error" and frames["refused"]["code"] == "not_found"
    assert frames["still"]["data"]["text"] == "still here"
    assert target.title not in log_text(scene.room)


def test_a_reply_about_a_proposal_hidden_since_is_refused():
    scene = make_scene()
    argument = services.contribution_say(
        room=scene.room, actor=scene.bob, kind="for", text="Yes", proposal=scene.proposal.pk
    )
    Proposal.objects.filter(pk=scene.proposal.pk).update(hidden=True)
    with pytest.raises(Exception) as refused:
        services.contribution_say(
            room=scene.room, actor=scene.alice, kind="against", text="No", reply_to=argument.pk
        )
    assert getattr(refused.value, "code", "") == "invalid"


def test_a_room_cannot_be_about_a_draft_proposal():
    scene = make_scene()
    draft = draft_of(scene)
    with pytest.raises(Exception) as refused:
        services.room_create(
            actor=scene.facilitator,
            round=scene.round,
            title="Skate night",
            starts_at=scene.room.starts_at,
            proposal=draft,
        )
    assert getattr(refused.value, "fields", {}).get("proposal")


def test_hiding_a_proposal_scrubs_its_title_from_the_log_and_the_replay():
    """Titles of proposals hidden later stayed in the rooms' logs."""
    scene = make_scene()
    manager = UserFactory(role=Role.MANAGER)
    scene.area.managers.add(manager)
    services.contribution_say(
        room=scene.room,
        actor=scene.alice,
        kind="for",
        text="Yes please",
        proposal=scene.proposal.pk,
    )
    services.contribution_say(room=scene.room, actor=scene.bob, kind="against", text="Too dear")
    assert "A new bench by the pond" in log_text(scene.room)
    proposal_hide(actor=manager, proposal=scene.proposal, reason="Copied from elsewhere")

    async def go() -> list[dict[str, Any]]:
        late = communicator(scene.room.pk, None)
        await late.connect()
        await late.send_json_to({"type": "join", "last_seq": 0})
        frames = await frames_until(late, "joined")
        await late.disconnect()
        return frames

    replay = run(go())
    assert "A new bench by the pond" not in json.dumps(replay)
    assert "A new bench by the pond" not in log_text(scene.room)
    said = [f["data"] for f in replay if f.get("event") == "said"]
    assert [s["text"] for s in said] == ["Yes please", "Too dear"]  # the arguments remain
    assert said[0]["proposal"] == {"id": scene.proposal.pk, "title": "", "hidden": True}
    assert said[1]["proposal"]["title"] == ""  # the room's proposal, named by default


def test_hiding_only_the_image_keeps_the_title():
    scene = make_scene()
    manager = UserFactory(role=Role.MANAGER)
    scene.area.managers.add(manager)
    services.contribution_say(
        room=scene.room, actor=scene.alice, kind="for", text="Yes", proposal=scene.proposal.pk
    )
    proposal_hide(actor=manager, proposal=scene.proposal, reason="Faces", image_only=True)
    assert "A new bench by the pond" in log_text(scene.room)

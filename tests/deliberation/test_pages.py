"""Room pages without JavaScript: read the room rebuilt from its log, act by posting forms."""

from __future__ import annotations

import pytest
from django.template import Context, Template
from django.urls import reverse

from deliberation import services
from deliberation.models import Contribution, HandRaise, Reaction, Room

pytestmark = pytest.mark.django_db


def act(client, room, **frame):
    return client.post(reverse("room_act", args=[room.pk]), frame)


def test_room_list_shows_rooms_and_summaries(client, scene):
    services.room_close(room=scene.room, actor=scene.facilitator, summary="We liked the bench.")
    page = client.get(reverse("room_list", args=[scene.round.slug]))
    assert page.status_code == 200
    assert b"Parks evening" in page.content and b"We liked the bench." in page.content
    assert b"Plan a room" not in page.content


def test_a_facilitator_plans_a_room_with_an_agenda(client, scene):
    client.force_login(scene.facilitator)
    page = client.post(
        reverse("room_list", args=[scene.round.slug]),
        {
            "title": "Youth night",
            "starts_at": "2030-05-01T18:00",
            "ends_at": "2030-05-01T20:00",
            "agenda": "Hello\nIdeas\n\nVote",
        },
    )
    room = Room.objects.get(title="Youth night")
    assert page.status_code == 302 and page.url == reverse("room_detail", args=[room.pk])
    assert [i.title for i in room.agenda.all()] == ["Hello", "Ideas", "Vote"]
    assert scene.facilitator in room.facilitators.all()


def test_a_room_that_ends_before_it_starts_is_refused_on_the_form(client, scene):
    client.force_login(scene.facilitator)
    page = client.post(
        reverse("room_list", args=[scene.round.slug]),
        {"title": "Backwards", "starts_at": "2030-05-01T18:00", "ends_at": "2030-05-01T17:00"},
    )
    assert page.status_code == 400 and b"must end after it starts" in page.content


def test_residents_cannot_plan_rooms(client, scene):
    client.force_login(scene.alice)
    page = client.post(reverse("room_list", args=[scene.round.slug]), {"title": "Mine"})
    assert page.status_code == 403


def test_room_page_reads_the_log_and_escapes_html(client, scene):
    services.contribution_say(
        room=scene.room, actor=scene.alice, kind="for", text="<script>alert('x')</script> yes"
    )
    page = client.get(reverse("room_detail", args=[scene.room.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; yes" in html
    assert "<script>alert" not in html
    assert "Argument for" in html and "Log in" in html


def test_a_resident_speaks_reacts_and_raises_a_hand_by_form(client, scene):
    client.force_login(scene.alice)
    answer = act(client, scene.room, type="say", kind="question", text="How much?", proposal="")
    assert answer.status_code == 302 and answer.url.endswith("#live")
    said = Contribution.objects.get()
    assert said.text == "How much?" and said.proposal is None
    act(client, scene.room, type="react", contribution=str(said.pk), reaction="unsure")
    assert Reaction.objects.get().kind == "unsure"
    act(client, scene.room, type="hand", raised="true")
    assert HandRaise.objects.filter(user=scene.alice).exists()
    page = client.get(reverse("room_detail", args=[scene.room.pk]))
    assert b"Lower your hand" in page.content and b"How much?" in page.content


def test_a_refused_post_shows_the_error_and_keeps_the_text(client, scene):
    client.force_login(scene.alice)
    answer = act(client, scene.room, type="say", kind="message", text="x" * 2001)
    assert answer.status_code == 400
    html = answer.content.decode()
    assert "Keep it to 2000 characters" in html and "x" * 2001 in html
    assert not Contribution.objects.exists()


def test_anonymous_posts_are_refused_with_a_message(client, scene):
    answer = act(client, scene.room, type="say", kind="message", text="hi")
    assert answer.status_code == 400 and b"Log in to take part" in answer.content


def test_facilitator_runs_the_room_by_form(client, scene):
    c = services.contribution_say(room=scene.room, actor=scene.alice, kind="message", text="Rude")
    services.hand_raise(room=scene.room, actor=scene.bob)
    client.force_login(scene.facilitator)
    page = client.get(reverse("room_detail", args=[scene.room.pk]))
    assert b"Call the next speaker" in page.content
    for frame in (
        {"type": "next_speaker"},
        {"type": "agenda", "step": "2"},
        {"type": "timer", "seconds": "60"},
        {"type": "poll_open", "question": "Bench?", "options": "Yes\nNo\n", "show_live": "true"},
        {"type": "hide", "contribution": str(c.pk), "reason": "Unkind"},
        {"type": "mute", "user": str(scene.alice.pk), "reason": "Unkind again"},
    ):
        answer = act(client, scene.room, **frame)
        assert answer.status_code == 302, (frame, answer.content[-500:])
    page = client.get(reverse("room_detail", args=[scene.room.pk])).content.decode()
    assert "Bench?" in page and "Unkind" in page and "Rude" not in page
    assert act(client, scene.room, type="close", summary="Done.").status_code == 302
    assert Room.objects.get(pk=scene.room.pk).summary == "Done."


def test_venue_screen_shows_agenda_speaker_queue_and_poll(client, scene):
    services.agenda_step(room=scene.room, actor=scene.facilitator, step=2)
    services.hand_raise(room=scene.room, actor=scene.alice)
    services.hand_raise(room=scene.room, actor=scene.bob)
    services.speaker_next(room=scene.room, actor=scene.facilitator)
    poll = services.poll_open(
        room=scene.room, actor=scene.facilitator, question="Bench?", options=["Yes", "No"]
    )
    services.poll_vote(
        room=scene.room, actor=scene.bob, poll=poll.pk, option=poll.options.first().pk
    )
    page = client.get(reverse("room_screen", args=[scene.room.pk])).content.decode()
    assert "The bench" in page and "Alice" in page and "Bob" in page and "Bench?" in page


def test_rooms_of_a_draft_round_are_not_found_for_residents(client):
    from tests.deliberation.conftest import make_scene

    scene = make_scene(phase="draft")
    client.force_login(scene.alice)
    assert client.get(reverse("room_detail", args=[scene.room.pk])).status_code == 404
    assert client.get(reverse("room_screen", args=[scene.room.pk])).status_code == 404


def test_arguments_include_lists_for_and_against(scene):
    services.contribution_say(room=scene.room, actor=scene.alice, kind="for", text="Shade & rest")
    services.contribution_say(room=scene.room, actor=scene.bob, kind="against", text="Costly")
    html = Template("{% load deliberation_tags %}{% proposal_arguments proposal %}").render(
        Context({"proposal": scene.proposal})
    )
    assert "Shade &amp; rest" in html and "Costly" in html


def test_room_page_queries_do_not_grow_with_contributions(
    client, scene, django_assert_max_num_queries
):
    for i in range(8):
        services.contribution_say(room=scene.room, actor=scene.alice, kind="message", text=f"#{i}")
    client.force_login(scene.bob)
    with django_assert_max_num_queries(16):
        response = client.get(reverse("room_detail", args=[scene.room.pk]))
    # A refusal or an error page would run few queries too: the room must have been shown.
    assert response.status_code == 200
    page = response.content.decode()
    assert "Parks evening" in page and "#0" in page and "#7" in page


def test_proposal_page_lists_arguments_from_rooms(client, scene):
    services.contribution_say(room=scene.room, actor=scene.alice, kind="for", text="Shade and rest")
    services.contribution_say(room=scene.room, actor=scene.bob, kind="against", text="Too costly")
    page = client.get(reverse("proposal_detail", args=[scene.proposal.pk])).content.decode()
    assert "Arguments from deliberation rooms" in page
    assert "Shade and rest" in page and "Too costly" in page


def test_the_room_page_follows_the_room_from_scheduled_to_open_to_closed(client):
    # The templates branch on the room's state (RoomState members in the context): each state
    # shows its own label and the facilitator's controls for it.
    from tests.deliberation.conftest import make_scene

    scene = make_scene(open_room=False)
    client.force_login(scene.facilitator)
    url = reverse("room_detail", args=[scene.room.pk])
    screen = reverse("room_screen", args=[scene.room.pk])

    def status(html: str) -> str:
        return html.split('id="room-status">', 1)[1].split("<", 1)[0]

    page = client.get(url).content.decode()
    assert status(page) == "Scheduled" and "Open the room" in page
    assert "Call the next speaker" not in page and "Close the room" in page
    assert status(client.get(screen).content.decode()) == "Scheduled"

    services.room_open(room=scene.room, actor=scene.facilitator)
    page = client.get(url).content.decode()
    assert status(page) == "Open" and "Call the next speaker" in page
    assert "Open the room" not in page and 'id="summary-h"' not in page

    services.room_close(room=scene.room, actor=scene.facilitator, summary="We liked it.")
    page = client.get(url).content.decode()
    assert status(page) == "Closed" and 'id="summary-h"' in page and "We liked it." in page
    assert "Close the room" not in page and "Call the next speaker" not in page
    shown = client.get(screen).content.decode()
    assert status(shown) == "Closed" and 'id="summary-section" hidden' not in shown

"""Room services: each change is logged once with the next sequence number, or refused whole."""

from __future__ import annotations

import pytest

from backend.errors import Conflict, DomainError, NotAllowed, NotFound
from deliberation import light, selectors, services
from deliberation.models import Contribution, HandRaise, PollVote, Reaction, RoomEvent
from tests.deliberation.conftest import make_resident

pytestmark = pytest.mark.django_db


def seqs(room):
    return list(RoomEvent.objects.filter(room=room).values_list("seq", flat=True))


def test_opening_a_room_logs_the_first_event(scene):
    assert seqs(scene.room) == [1]
    assert RoomEvent.objects.get(room=scene.room).type == "opened"
    assert scene.room.state == "open"


def test_every_change_takes_the_next_sequence_number(scene, django_capture_on_commit_callbacks):
    c = services.contribution_say(room=scene.room, actor=scene.alice, kind="message", text="Hello")
    services.reaction_set(room=scene.room, actor=scene.bob, contribution=c.pk, reaction="agree")
    with django_capture_on_commit_callbacks(execute=True):
        services.hand_raise(room=scene.room, actor=scene.bob)
    services.speaker_next(room=scene.room, actor=scene.facilitator)
    assert seqs(scene.room) == [1, 2, 3, 4, 5]
    scene.room.refresh_from_db()
    assert scene.room.last_seq == 5


def test_html_is_stored_as_text(scene):
    c = services.contribution_say(
        room=scene.room, actor=scene.alice, kind="message", text="<script>alert(1)</script>"
    )
    assert c.text == "<script>alert(1)</script>"


@pytest.mark.parametrize(
    ("text", "code"),
    [("", "invalid"), ("   ", "invalid"), ("x" * 2001, "too_long"), (5, "invalid")],
)
def test_bad_text_is_refused_and_nothing_is_logged(scene, text, code):
    with pytest.raises(DomainError) as info:
        services.contribution_say(room=scene.room, actor=scene.alice, kind="message", text=text)
    assert info.value.code == code
    assert seqs(scene.room) == [1]


def test_text_of_exactly_the_limit_is_taken(scene):
    services.contribution_say(room=scene.room, actor=scene.alice, kind="message", text="x" * 2000)
    assert Contribution.objects.count() == 1


def test_an_argument_without_a_proposal_takes_the_rooms_proposal(scene):
    c = services.contribution_say(room=scene.room, actor=scene.alice, kind="for", text="Yes!")
    assert c.proposal == scene.proposal
    assert selectors.arguments_for_proposal(scene.proposal)["for"] == [c]


def test_arguments_for_a_proposal_leave_out_hidden_ones(scene):
    good = services.contribution_say(room=scene.room, actor=scene.alice, kind="against", text="No")
    bad = services.contribution_say(room=scene.room, actor=scene.bob, kind="against", text="Rude")
    services.contribution_hide(
        room=scene.room, actor=scene.facilitator, contribution=bad.pk, reason="Abusive"
    )
    assert selectors.arguments_for_proposal(scene.proposal) == {"for": [], "against": [good]}


def test_reply_must_be_in_the_same_room(scene):
    from tests.deliberation.conftest import make_scene

    other = make_scene()
    c = services.contribution_say(room=other.room, actor=other.alice, kind="message", text="Hi")
    with pytest.raises(NotFound):
        services.contribution_say(
            room=scene.room, actor=scene.alice, kind="message", text="Re", reply_to=c.pk
        )


def test_reacting_twice_changes_the_reaction(scene):
    c = services.contribution_say(room=scene.room, actor=scene.alice, kind="message", text="Hello")
    services.reaction_set(room=scene.room, actor=scene.bob, contribution=c.pk, reaction="agree")
    services.reaction_set(room=scene.room, actor=scene.bob, contribution=c.pk, reaction="unsure")
    assert Reaction.objects.get().kind == "unsure"
    last = RoomEvent.objects.filter(room=scene.room).last()
    assert last.type == "reactions"
    assert last.data == {
        "reacted": [{"contribution": c.pk, "counts": {"agree": 0, "disagree": 0, "unsure": 1}}]
    }


def test_reaction_to_a_hidden_contribution_is_refused(scene):
    c = services.contribution_say(room=scene.room, actor=scene.alice, kind="message", text="Hello")
    services.contribution_hide(
        room=scene.room, actor=scene.facilitator, contribution=c.pk, reason="x"
    )
    with pytest.raises(NotFound):
        services.reaction_set(room=scene.room, actor=scene.bob, contribution=c.pk, reaction="agree")


def test_hiding_removes_the_text_from_the_log_and_shows_the_reason(scene):
    c = services.contribution_say(room=scene.room, actor=scene.alice, kind="message", text="Nasty")
    services.contribution_hide(
        room=scene.room, actor=scene.facilitator, contribution=c.pk, reason="Personal attack"
    )
    said = RoomEvent.objects.get(room=scene.room, type="said")
    assert said.data["text"] == "" and said.data["hidden"] is True
    state = selectors.room_state(scene.room)
    assert state["contributions"][0]["hidden"] is True
    assert state["contributions"][0]["reason"] == "Personal attack"
    assert "Nasty" not in str(state)


def test_speaker_queue_is_first_come_first_called(scene):
    services.hand_raise(room=scene.room, actor=scene.bob)
    services.hand_raise(room=scene.room, actor=scene.alice)
    with pytest.raises(Conflict):
        services.hand_raise(room=scene.room, actor=scene.bob)
    assert services.speaker_next(room=scene.room, actor=scene.facilitator) == scene.bob
    assert services.speaker_next(room=scene.room, actor=scene.facilitator) == scene.alice
    assert services.speaker_next(room=scene.room, actor=scene.facilitator) is None
    services.hand_raise(room=scene.room, actor=scene.bob)
    services.hand_lower(room=scene.room, actor=scene.bob)
    assert HandRaise.objects.filter(lowered_at=None, called_at=None).count() == 0


def test_poll_takes_one_vote_per_person_and_closes(scene):
    poll = services.poll_open(
        room=scene.room, actor=scene.facilitator, question="Bench?", options=["Yes", "No"]
    )
    yes, no = poll.options.all()
    services.poll_vote(room=scene.room, actor=scene.alice, poll=poll.pk, option=yes.pk)
    services.poll_vote(room=scene.room, actor=scene.alice, poll=poll.pk, option=no.pk)
    services.poll_vote(room=scene.room, actor=scene.bob, poll=poll.pk, option=no.pk)
    assert PollVote.objects.count() == 2
    services.poll_close(room=scene.room, actor=scene.facilitator, poll=poll.pk)
    with pytest.raises(Conflict):
        services.poll_vote(room=scene.room, actor=scene.bob, poll=poll.pk, option=yes.pk)
    state = selectors.room_state(scene.room)
    assert state["polls"][0]["counts"] == {str(yes.pk): 0, str(no.pk): 2}
    assert state["polls"][0]["closed"] is True


def test_a_poll_with_results_at_close_does_not_leak_counts(scene):
    poll = services.poll_open(
        room=scene.room,
        actor=scene.facilitator,
        question="Bench?",
        options=["Yes", "No"],
        show_live=False,
    )
    services.poll_vote(
        room=scene.room, actor=scene.alice, poll=poll.pk, option=poll.options.first().pk
    )
    voted = RoomEvent.objects.filter(room=scene.room, type="poll_voted").get()
    assert voted.data == {"poll": poll.pk, "total": 1, "counts": None}


@pytest.mark.parametrize("options", [["Only one"], [], ["a", ""], "not a list", ["x"] * 11])
def test_poll_needs_two_to_ten_options(scene, options):
    with pytest.raises(DomainError):
        services.poll_open(room=scene.room, actor=scene.facilitator, question="Q", options=options)


def test_muted_person_cannot_speak_and_loses_their_place_in_the_queue(scene):
    services.hand_raise(room=scene.room, actor=scene.bob)
    services.participant_mute(
        room=scene.room, actor=scene.facilitator, user=scene.bob.pk, reason="Shouting"
    )
    with pytest.raises(NotAllowed) as info:
        services.contribution_say(room=scene.room, actor=scene.bob, kind="message", text="Hi")
    assert info.value.code == "muted"
    assert selectors.room_state(scene.room)["queue"] == []


def test_facilitators_cannot_be_muted(scene):
    with pytest.raises(Conflict):
        services.participant_mute(
            room=scene.room, actor=scene.facilitator, user=scene.facilitator.pk, reason="x"
        )


def test_agenda_steps_and_timer(scene):
    item = services.agenda_step(room=scene.room, actor=scene.facilitator, step=2)
    assert item.title == "The bench"
    services.timer_set(room=scene.room, actor=scene.facilitator, seconds=120)
    state = selectors.room_state(scene.room)
    assert state["agenda_item"]["title"] == "The bench"
    assert state["timer_ends_at"] is not None
    with pytest.raises(NotFound):
        services.agenda_step(room=scene.room, actor=scene.facilitator, step=9)
    with pytest.raises(DomainError):
        services.timer_set(room=scene.room, actor=scene.facilitator, seconds=-1)


def test_closing_publishes_the_summary_and_ends_taking_part(scene):
    services.poll_open(room=scene.room, actor=scene.facilitator, question="Q", options=["a", "b"])
    services.room_close(room=scene.room, actor=scene.facilitator, summary="We agreed on a bench.")
    scene.room.refresh_from_db()
    assert scene.room.state == "closed" and scene.room.summary == "We agreed on a bench."
    state = selectors.room_state(scene.room)
    assert state["summary"] == "We agreed on a bench." and state["polls"][0]["closed"]
    with pytest.raises(NotAllowed) as info:
        services.contribution_say(room=scene.room, actor=scene.alice, kind="message", text="Hi")
    assert info.value.code == "room_not_open"


@pytest.mark.parametrize(
    "action",
    [
        lambda s, u: services.speaker_next(room=s.room, actor=u),
        lambda s, u: services.agenda_step(room=s.room, actor=u, step=1),
        lambda s, u: services.timer_set(room=s.room, actor=u, seconds=60),
        lambda s, u: services.poll_open(room=s.room, actor=u, question="Q", options=["a", "b"]),
        lambda s, u: services.participant_mute(room=s.room, actor=u, user=s.bob.pk, reason="x"),
        lambda s, u: services.room_close(room=s.room, actor=u, summary="Done"),
    ],
)
def test_facilitator_actions_are_refused_to_residents(scene, action):
    with pytest.raises(NotAllowed):
        action(scene, scene.alice)
    assert seqs(scene.room) == [1]


def test_rate_limit_allows_ten_contributions_a_minute(clock, scene):
    # The test clock stands still unless moved, so the first eleven are all at once.
    eager = make_resident(scene.area)
    for i in range(10):
        services.contribution_say(room=scene.room, actor=eager, kind="message", text=f"#{i}")
    with pytest.raises(DomainError) as info:
        services.contribution_say(room=scene.room, actor=eager, kind="message", text="more")
    assert info.value.code == "rate_limited"
    assert Contribution.objects.filter(author=eager).count() == 10
    services.contribution_say(room=scene.room, actor=scene.alice, kind="message", text="others")
    clock.advance(seconds=30)
    for _ in range(3):  # still within 60 seconds of the ten; refusals are not counted
        with pytest.raises(DomainError):
            services.contribution_say(room=scene.room, actor=eager, kind="message", text="soon")
    clock.advance(seconds=40)  # 70 seconds after the ten, 40 after the refusals
    for i in range(10):
        services.contribution_say(room=scene.room, actor=eager, kind="message", text=f"again {i}")
    assert Contribution.objects.filter(author=eager).count() == 20


def test_rate_limit_slides_across_the_clock_minute(clock, scene):
    """Ten contributions at hh:mm:55 leave none for hh:mm+1:05: the window is any 60 seconds,
    not the clock minute (which let twenty through within ten seconds)."""
    eager = make_resident(scene.area)
    clock.advance(seconds=(55 - clock.now().second) % 60)
    assert clock.now().second == 55
    for i in range(10):
        services.contribution_say(room=scene.room, actor=eager, kind="message", text=f"#{i}")
    clock.advance(seconds=10)
    assert clock.now().second == 5  # a new clock minute
    with pytest.raises(DomainError) as info:
        services.contribution_say(room=scene.room, actor=eager, kind="message", text="one more")
    assert info.value.code == "rate_limited"
    clock.advance(seconds=49)  # 59 seconds after the ten
    with pytest.raises(DomainError):
        services.contribution_say(room=scene.room, actor=eager, kind="message", text="not yet")
    clock.advance(seconds=6)  # 65 seconds after the ten
    for i in range(10):
        services.contribution_say(room=scene.room, actor=eager, kind="message", text=f"{i}")
    assert Contribution.objects.filter(author=eager).count() == 20


def test_state_rebuilt_from_the_log_matches_the_facts(scene, django_capture_on_commit_callbacks):
    c = services.contribution_say(room=scene.room, actor=scene.alice, kind="question", text="When?")
    services.contribution_pin(room=scene.room, actor=scene.facilitator, contribution=c.pk)
    services.reaction_set(room=scene.room, actor=scene.bob, contribution=c.pk, reaction="disagree")
    with django_capture_on_commit_callbacks(execute=True):
        services.hand_raise(room=scene.room, actor=scene.alice)
    state = selectors.room_state(scene.room)
    assert state["state"] == "open" and state["last_seq"] == 5
    (only,) = state["contributions"]
    assert only["text"] == "When?" and only["pinned"] and only["counts"]["disagree"] == 1
    assert state["queue"] == [{"id": scene.alice.pk, "name": "Alice"}]


def test_nobody_speaks_in_a_room_while_the_rounds_phase_takes_no_contributions(scene):
    from pb.phases import Action, Phase, allows
    from pb.rounds.models import Round

    quiet = next(p for p in Phase if not allows(p, Action.COMMENT))
    Round.objects.filter(pk=scene.round.pk).update(phase=quiet)
    before = seqs(scene.room)
    with pytest.raises(NotAllowed) as refused:
        services.contribution_say(room=scene.room.pk, actor=scene.alice, kind="message", text="Hi")
    assert "phase" in refused.value.message
    assert seqs(scene.room) == before and not Contribution.objects.exists()


# --- Reactions and hands in aggregate -------------------------------------------------------


@pytest.fixture
def held(monkeypatch):
    """Light changes wait until the test flushes them, as they wait for the next flush on a
    server (``light.schedule_flush`` flushes at once where no event loop runs)."""
    monkeypatch.setattr(light, "schedule_flush", lambda room_id: None)


def test_reactions_and_hands_of_several_people_make_one_event_with_the_totals(
    scene, held, django_capture_on_commit_callbacks
):
    first = services.contribution_say(room=scene.room, actor=scene.alice, kind="message", text="A")
    second = services.contribution_say(room=scene.room, actor=scene.bob, kind="message", text="B")
    carol = make_resident(scene.area, display_name="Carol")
    before = seqs(scene.room)
    for person, reaction in [(scene.alice, "agree"), (scene.bob, "agree"), (carol, "unsure")]:
        services.reaction_set(
            room=scene.room, actor=person, contribution=first.pk, reaction=reaction
        )
    services.reaction_set(room=scene.room, actor=carol, contribution=second.pk, reaction="agree")
    # Carol changes her mind before the flush: only her latest reaction counts.
    services.reaction_set(room=scene.room, actor=carol, contribution=first.pk, reaction="disagree")
    with django_capture_on_commit_callbacks(execute=True):
        for person in (carol, scene.alice, scene.bob):
            services.hand_raise(room=scene.room, actor=person)
        services.hand_lower(room=scene.room, actor=scene.alice)
    assert seqs(scene.room) == before, "nothing is logged per reaction or hand"
    assert not Reaction.objects.exists(), "nothing is written per reaction"

    event = services.light_flush(scene.room.pk)

    assert seqs(scene.room) == [*before, before[-1] + 1]
    assert event is not None and event.type == "reactions"
    assert event.data == {
        "reacted": [
            {"contribution": first.pk, "counts": {"agree": 2, "disagree": 1, "unsure": 0}},
            {"contribution": second.pk, "counts": {"agree": 1, "disagree": 0, "unsure": 0}},
        ],
        "queue": [{"id": carol.pk, "name": "Carol"}, {"id": scene.bob.pk, "name": "Bob"}],
    }
    assert Reaction.objects.count() == 4
    assert services.light_flush(scene.room.pk) is None, "a flush with nothing waiting logs nothing"
    state = selectors.room_state(scene.room)
    assert [c["counts"]["agree"] for c in state["contributions"]] == [2, 1]
    assert [p["name"] for p in state["queue"]] == ["Carol", "Bob"]


def test_reactions_waiting_at_the_close_are_counted_before_it(scene, held):
    c = services.contribution_say(room=scene.room, actor=scene.alice, kind="message", text="A")
    services.reaction_set(room=scene.room, actor=scene.bob, contribution=c.pk, reaction="agree")
    services.room_close(room=scene.room, actor=scene.facilitator, summary="Done")
    types = list(RoomEvent.objects.filter(room=scene.room).values_list("type", flat=True))
    assert types[-2:] == ["reactions", "closed"]
    assert Reaction.objects.get().kind == "agree"


def test_a_failed_flush_puts_the_reactions_back_for_the_next(scene, held, monkeypatch):
    c = services.contribution_say(room=scene.room, actor=scene.alice, kind="message", text="A")
    services.reaction_set(room=scene.room, actor=scene.bob, contribution=c.pk, reaction="agree")

    def unreachable(room, pending):
        raise RuntimeError("database unreachable")

    apply_light = services._apply_light
    monkeypatch.setattr(services, "_apply_light", unreachable)
    with pytest.raises(RuntimeError):
        services.light_flush(scene.room.pk)
    assert not Reaction.objects.exists()
    monkeypatch.setattr(services, "_apply_light", apply_light)
    event = services.light_flush(scene.room.pk)
    assert event is not None
    assert event.data["reacted"][0]["counts"]["agree"] == 1


def test_a_raised_hand_is_stored_at_once(scene, held):
    services.hand_raise(room=scene.room, actor=scene.bob)
    assert HandRaise.objects.filter(user=scene.bob, lowered_at=None, called_at=None).exists()
    with pytest.raises(Conflict):
        services.hand_raise(room=scene.room, actor=scene.bob)


def test_a_hand_that_slipped_in_as_its_owner_was_muted_is_never_queued_or_called(scene, held):
    """Hands take no lock on the room: one raised while a facilitator mutes its owner can be
    stored after the mute lowered the others. It must not show or be called."""
    services.participant_mute(
        room=scene.room, actor=scene.facilitator, user=scene.bob.pk, reason="Shouting"
    )
    HandRaise.objects.create(room=scene.room, user=scene.bob)  # as if committed just after
    services.hand_raise(room=scene.room, actor=scene.alice)
    light.queue_changed(scene.room.pk)
    event = services.light_flush(scene.room.pk)
    assert event is not None and event.data["queue"] == [{"id": scene.alice.pk, "name": "Alice"}]
    assert services.speaker_next(room=scene.room, actor=scene.facilitator) == scene.alice
    assert services.speaker_next(room=scene.room, actor=scene.facilitator) is None


def test_a_hand_raised_as_the_room_closed_is_lowered_and_not_announced(scene, held):
    services.room_close(room=scene.room, actor=scene.facilitator, summary="Done")
    HandRaise.objects.create(room=scene.room, user=scene.bob)  # validated before the close
    light.queue_changed(scene.room.pk)
    assert services.light_flush(scene.room.pk) is None
    assert not HandRaise.objects.filter(lowered_at=None, called_at=None).exists()
    assert selectors.room_state(scene.room)["queue"] == []

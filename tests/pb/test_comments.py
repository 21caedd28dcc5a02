"""Comments on proposals: the service's rules, then the pages (plain forms, no JavaScript)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from backend.accounts.models import Notification, Role
from backend.errors import DomainError, NotAllowed
from pb.models import AuditEntry
from pb.phases import Action, Phase, phases_allowing
from pb.proposals.comments import comment_create, comment_flag, comment_hide
from pb.proposals.models import Comment, CommentFlag, Proposal, ProposalStatus
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def checked(email, area, **extra):
    user = UserFactory(email=email, **extra)
    user.profile.home_area = area
    user.profile.birth_year = 1980
    user.profile.verified = True
    user.profile.save()
    return user


@pytest.fixture
def author(world):
    return checked("author@example.org", world.north, display_name="Ann Author")


@pytest.fixture
def proposal(world, author):
    return Proposal.objects.create(
        round=world.round,
        area=world.north,
        author=author,
        title="Benches in North Park",
        description="Six benches.",
        estimated_cost=1_200_000,
        status=ProposalStatus.SUBMITTED,
    )


def say(world, proposal, **overrides):
    fields = {"author": world.resident, "proposal": proposal, "text": "Yes!", "stance": "for"}
    return comment_create(**{**fields, **overrides})


# --- service ------------------------------------------------------------------------------------


def test_a_checked_resident_comments_and_the_author_is_told_in_their_language(
    world, proposal, author, django_capture_on_commit_callbacks
):
    author.language = "cy"
    author.save(update_fields=["language"])
    with django_capture_on_commit_callbacks(execute=True):
        comment = say(world, proposal, text="  Good idea  ", language="pl")
    assert (comment.text, comment.stance, comment.language) == ("Good idea", "for", "pl")
    note = Notification.objects.get(user=author)
    assert note.subject.startswith("Sylw newydd")  # Welsh: the author reads Welsh
    assert "Good idea" in note.body
    assert note.url == f"/proposals/{proposal.pk}/#comment-{comment.pk}"


def test_an_author_commenting_on_their_own_proposal_is_not_notified(
    world, proposal, author, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        say(world, proposal, author=author)
    assert not Notification.objects.filter(user=author).exists()


def test_a_reply_tells_the_comments_writer_and_the_author_once_each(
    world, proposal, author, django_capture_on_commit_callbacks
):
    top = say(world, proposal)  # the resident comments
    neighbour = checked("neighbour@example.org", world.north)
    with django_capture_on_commit_callbacks(execute=True):
        say(world, proposal, author=neighbour, parent=top, text="I agree")
    assert Notification.objects.get(user=world.resident).subject.startswith("A reply")
    assert Notification.objects.filter(user=author).count() == 1
    with django_capture_on_commit_callbacks(execute=True):  # the author replies: only the
        say(world, proposal, author=author, parent=top, text="Thanks")  # writer hears of it
    assert Notification.objects.filter(user=world.resident).count() == 2
    assert Notification.objects.filter(user=author).count() == 1


def test_a_hidden_comment_takes_no_replies(world, proposal):
    top = comment_hide(actor=world.manager, comment=say(world, proposal), reason="Rude")
    with pytest.raises(DomainError) as info:
        say(world, proposal, parent=top)
    assert "takes no replies" in info.value.fields["parent"][0]
    assert Comment.objects.count() == 1


def test_replies_go_one_level_deep_and_stay_on_their_proposal(world, proposal, author):
    top = say(world, proposal)
    reply = say(world, proposal, author=author, parent=top, stance="against")
    assert reply.parent == top
    with pytest.raises(DomainError) as deeper:
        say(world, proposal, parent=reply)
    assert "not to a reply" in deeper.value.fields["parent"][0]
    other = Proposal.objects.create(
        round=world.round, area=world.north, title="Other", description="x",
        estimated_cost=1, status=ProposalStatus.SUBMITTED,
    )  # fmt: skip
    with pytest.raises(DomainError) as elsewhere:
        say(world, other, parent=top)
    assert "another proposal" in elsewhere.value.fields["parent"][0]
    assert Comment.objects.count() == 2


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"text": "   "}, "text", "Write your comment"),
        ({"text": "x" * 2001}, "text", "2001 characters"),
        ({"stance": "maybe"}, "stance", "for, against or neutral"),
        ({"stance": ""}, "stance", "for, against or neutral"),
    ],
)
def test_bad_comments_get_a_field_error_and_nothing_is_stored(
    world, proposal, overrides, field, words
):
    with pytest.raises(DomainError) as info:
        say(world, proposal, **overrides)
    assert words in info.value.fields[field][0]
    assert not Comment.objects.exists()


def test_2000_characters_is_allowed(world, proposal):
    assert len(say(world, proposal, text="y" * 2000).text) == 2000


def test_unchecked_residents_and_visitors_cannot_comment(world, proposal):
    unchecked = UserFactory(email="new@example.org")
    from django.contrib.auth.models import AnonymousUser

    for who in (unchecked, AnonymousUser()):
        with pytest.raises(NotAllowed) as info:
            say(world, proposal, author=who)
        assert "checked" in info.value.message
    assert not Comment.objects.exists()


# The phase table decides (comments stay open from intake to delivery, not while a round is
# being prepared): the tests follow it rather than copy it.
CLOSED = sorted(set(Phase) - phases_allowing(Action.COMMENT))
OPEN = sorted(phases_allowing(Action.COMMENT))


def test_the_phase_table_closes_comments_somewhere():
    assert CLOSED == [Phase.DRAFT]


@pytest.mark.parametrize("phase", CLOSED)
def test_comments_outside_the_phases_that_take_them_are_refused(world, proposal, phase):
    world.set_phase(phase)
    with pytest.raises(NotAllowed) as info:
        say(world, proposal)
    assert info.value.code == "wrong_phase" and "Comments are not open now" in info.value.message
    assert not Comment.objects.exists()


@pytest.mark.parametrize("phase", OPEN)
def test_comments_are_taken_in_the_phases_that_allow_them(world, proposal, phase):
    world.set_phase(phase)
    assert say(world, proposal).pk


def test_drafts_and_hidden_proposals_take_no_comments(world, proposal):
    proposal.status = ProposalStatus.DRAFT
    proposal.save()
    with pytest.raises(NotAllowed, match="draft or a moderator hid it"):
        say(world, proposal)
    proposal.status, proposal.hidden = ProposalStatus.SUBMITTED, True
    proposal.save()
    with pytest.raises(NotAllowed, match="draft or a moderator hid it"):
        say(world, proposal)
    assert not Comment.objects.exists()


def test_flagging_twice_counts_once(world, proposal, author):
    comment = say(world, proposal)
    assert comment_flag(actor=author, comment=comment) is True
    assert comment_flag(actor=author, comment=comment) is False
    comment.refresh_from_db()
    assert comment.flag_count == 1 and CommentFlag.objects.count() == 1


def test_nobody_flags_their_own_comment(world, proposal):
    comment = say(world, proposal)
    with pytest.raises(NotAllowed, match="your own comment"):
        comment_flag(actor=world.resident, comment=comment)
    comment.refresh_from_db()
    assert comment.flag_count == 0 and not CommentFlag.objects.exists()


def test_a_manager_of_the_area_hides_with_a_reason_and_it_is_audited(world, proposal):
    comment = say(world, proposal)
    with pytest.raises(DomainError) as no_reason:
        comment_hide(actor=world.manager, comment=comment, reason=" ")
    assert "reason" in no_reason.value.fields
    hidden = comment_hide(actor=world.manager, comment=comment, reason="Personal attack")
    assert hidden.hidden and hidden.hidden_reason == "Personal attack"
    assert AuditEntry.objects.get(action="comment.hide").reason == "Personal attack"


def test_residents_and_other_areas_managers_cannot_moderate(world, proposal, author):
    comment = say(world, proposal)
    for who in (author, world.resident, world.other_manager):
        with pytest.raises(NotAllowed):
            comment_hide(actor=who, comment=comment, reason="No")
    comment.refresh_from_db()
    assert not comment.hidden


# --- pages --------------------------------------------------------------------------------------


def post_comment(client, proposal, **data):
    return client.post(reverse("comment_post", args=[proposal.pk]), data)


def test_a_resident_comments_and_replies_through_plain_forms(client, world, proposal, author):
    client.force_login(world.resident)
    page = client.get(reverse("proposal_detail", args=[proposal.pk]))
    assert b'id="new-comment"' in page.content
    response = post_comment(client, proposal, text="Shade, please", stance="for")
    top = Comment.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/proposals/{proposal.pk}/#comment-{top.pk}"
    client.force_login(author)
    response = post_comment(client, proposal, text="Noted", stance="neutral", parent=str(top.pk))
    assert response.status_code == 302
    page = client.get(reverse("proposal_detail", args=[proposal.pk])).content.decode()
    assert "Shade, please" in page and "Noted" in page
    assert 'class="comment-replies"' in page and 'lang="en-gb" dir="auto"' in page


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"text": "", "stance": "for"}, "This field is required"),
        ({"text": "x" * 2001, "stance": "for"}, "keep it to 2000"),
        ({"text": "Hi", "stance": "maybe"}, "for, against or neutral"),
        ({"text": "Hi", "stance": "for", "parent": "abc"}, "not a comment you can reply to"),
        ({"text": "Hi", "stance": "for", "parent": "999999"}, "does not exist"),
    ],
)
def test_bad_comments_on_the_page_get_errors_not_a_500(client, world, proposal, data, words):
    client.force_login(world.resident)
    response = post_comment(client, proposal, **data)
    assert response.status_code == 400
    assert words in response.content.decode()
    assert not Comment.objects.exists()


def test_a_reply_to_a_reply_or_to_another_proposal_is_refused_on_the_page(
    client, world, proposal, author
):
    top = say(world, proposal)
    reply = say(world, proposal, author=author, parent=top)
    other = Proposal.objects.create(
        round=world.round, area=world.north, title="Other", description="x",
        estimated_cost=1, status=ProposalStatus.SUBMITTED,
    )  # fmt: skip
    client.force_login(world.resident)
    deep = post_comment(client, proposal, text="Hi", stance="for", parent=str(reply.pk))
    assert deep.status_code == 400 and "not to a reply" in deep.content.decode()
    cross = post_comment(client, other, text="Hi", stance="for", parent=str(top.pk))
    assert cross.status_code == 400 and "another proposal" in cross.content.decode()
    assert Comment.objects.count() == 2


def test_commenting_outside_the_phase_says_so_on_the_page(client, world, proposal):
    world.set_phase(CLOSED[0])
    client.force_login(world.resident)
    page = client.get(reverse("proposal_detail", args=[proposal.pk])).content.decode()
    assert 'id="new-comment"' not in page and "Comments are closed" in page
    response = post_comment(client, proposal, text="Hi", stance="for")
    assert response.status_code == 403 and "Comments are not open now" in response.content.decode()


def test_visitors_are_sent_to_log_in(client, proposal):
    page = client.get(reverse("proposal_detail", args=[proposal.pk])).content.decode()
    assert "Log in to comment" in page
    response = post_comment(client, proposal, text="Hi", stance="for")
    assert response.status_code == 302 and "/log-in/" in response["Location"]
    assert not Comment.objects.exists()


def test_non_numeric_or_unknown_comment_ids_are_404s(client, world):
    client.force_login(world.resident)
    assert client.post("/comments/abc/flag/").status_code == 404
    assert client.post(reverse("comment_flag", args=[999999])).status_code == 404


def test_flag_queue_hide_flow_on_the_pages(client, world, proposal, author):
    comment = say(world, proposal, text="Rude words")
    client.force_login(author)
    for _ in range(2):  # the second flag changes nothing
        assert client.post(reverse("comment_flag", args=[comment.pk])).status_code == 302
    comment.refresh_from_db()
    assert comment.flag_count == 1
    # A resident cannot moderate: neither the queue nor hiding.
    assert client.get(reverse("comment_queue")).status_code == 403
    response = client.post(reverse("comment_hide", args=[comment.pk]), {"reason": "x"})
    assert response.status_code == 403
    comment.refresh_from_db()
    assert not comment.hidden
    # The manager sees it waiting on the dashboard, opens the queue and hides it.
    client.force_login(world.manager)
    dashboard = client.get(reverse("dashboard")).content.decode()
    assert "1 flagged comment to moderate" in dashboard
    queue = client.get(reverse("comment_queue")).content.decode()
    assert "Rude words" in queue
    response = client.post(
        reverse("comment_hide", args=[comment.pk]),
        {"reason": "Not about the proposal", "next": reverse("comment_queue")},
    )
    assert response["Location"] == reverse("comment_queue")
    assert "Rude words" not in client.get(reverse("comment_queue")).content.decode()
    page = client.get(reverse("proposal_detail", args=[proposal.pk])).content.decode()
    assert "Hidden by a moderator: Not about the proposal" in page and "Rude words" not in page


def test_another_areas_manager_sees_an_empty_queue(client, world, proposal, author):
    comment = say(world, proposal)
    comment_flag(actor=author, comment=comment)
    client.force_login(world.other_manager)
    queue = client.get(reverse("comment_queue")).content.decode()
    assert "No flagged comments are waiting" in queue


def test_a_hide_without_a_reason_is_refused_with_a_message(client, world, proposal):
    comment = say(world, proposal)
    client.force_login(world.manager)
    response = client.post(reverse("comment_hide", args=[comment.pk]), {"reason": ""}, follow=True)
    assert "Give the reason" in response.content.decode()
    comment.refresh_from_db()
    assert not comment.hidden


def test_hiding_a_comment_another_manager_already_hid_keeps_their_reason(client, world, proposal):
    # The second manager's page was loaded before the first hid the comment.
    comment = say(world, proposal, text="Rude words")
    admin = UserFactory(role=Role.ADMIN, email="admin@example.org")
    comment_hide(actor=world.manager, comment=comment, reason="Personal attack")
    client.force_login(admin)
    response = client.post(
        reverse("comment_hide", args=[comment.pk]), {"reason": "Off topic"}, follow=True
    )
    assert response.status_code == 200
    assert (
        "Another manager has already hidden this comment, giving the reason: Personal attack"
        in response.content.decode()
    )
    comment.refresh_from_db()
    assert comment.hidden_reason == "Personal attack" and comment.hidden_by == world.manager
    assert AuditEntry.objects.filter(action="comment.hide").count() == 1


def test_keeping_a_flagged_comment_clears_it_from_the_queue(client, world, proposal, author):
    comment = say(world, proposal, text="Borderline")
    comment_flag(actor=author, comment=comment)
    client.force_login(world.manager)
    client.post(reverse("comment_keep", args=[comment.pk]), {"next": reverse("comment_queue")})
    comment.refresh_from_db()
    assert comment.flag_count == 0 and not comment.hidden
    assert "Borderline" not in client.get(reverse("comment_queue")).content.decode()


def test_the_round_page_counts_visible_comments_and_links_to_them(client, world, proposal):
    say(world, proposal)
    say(world, proposal, text="Second")
    comment_hide(actor=world.manager, comment=say(world, proposal, text="Third"), reason="Rude")
    page = client.get(reverse("round_detail", args=[world.round.slug])).content.decode()
    assert f'href="/proposals/{proposal.pk}/#comments">2 comments' in page


@pytest.mark.parametrize(
    ("who", "may"),
    [
        ("admin", True),
        ("manager", True),  # manages North, the proposal's area
        ("other_manager", False),  # manages South only
        ("councillor", False),
        ("staff", False),
        ("resident", False),
        ("author", False),
    ],
)
def test_who_may_hide_a_comment_on_a_north_proposal(client, world, proposal, author, who, may):
    people = {
        "admin": UserFactory(role=Role.ADMIN, email="admin@example.org"),
        "staff": UserFactory(role=Role.EVENT_STAFF, email="staff@example.org"),
        "author": author,
    }
    actor = people.get(who) or getattr(world, who)
    comment = say(world, proposal, text="Under review")
    client.force_login(actor)
    response = client.post(reverse("comment_hide", args=[comment.pk]), {"reason": "Off topic"})
    comment.refresh_from_db()
    assert comment.hidden is may
    assert response.status_code == (302 if may else 403)
    assert AuditEntry.objects.filter(action="comment.hide").exists() is may

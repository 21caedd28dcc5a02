"""Comments on a proposal in a real browser: a resident comments and replies by clicking, another
flags, the area's manager hides it from the queue the dashboard links to; axe checks the pages."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from pb.proposals.models import Comment, Proposal, ProposalStatus
from tests.e2e.conftest import assert_accessible, log_in, log_out
from tests.factories import UserFactory
from tests.pb.conftest import World

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct-horse-battery"


@pytest.fixture
def world(db):
    world = World()
    world.author = UserFactory(email="author@example.org", display_name="Ann Author")
    world.proposal = Proposal.objects.create(
        round=world.round,
        area=world.north,
        author=world.author,
        title="Benches in North Park",
        description="Six benches along the lake path.",
        estimated_cost=1_200_000,
        status=ProposalStatus.SUBMITTED,
    )
    return world


def test_residents_comment_reply_and_flag_and_a_manager_hides_by_clicking(page, live_server, world):
    log_in(page, live_server, world.resident.email, PASSWORD)
    page.goto(live_server.url + "/rounds/city-2027/")
    page.get_by_role("link", name="Benches in North Park").click()
    page.wait_for_url("**/proposals/*/")
    comments = page.get_by_role("region", name="Comments")
    expect(comments.get_by_text("No comments yet.")).to_be_visible()

    new = page.locator("#new-comment")
    new.get_by_label("Your comment").fill("Please add shade too")
    new.get_by_role("radio", name="For").check()
    new.get_by_role("button", name="Publish your comment").click()
    expect(page.get_by_text("Your comment is published.")).to_be_visible()
    expect(comments.get_by_text("Please add shade too")).to_be_visible()
    top = Comment.objects.get()
    assert (top.stance, top.author_id, top.language) == ("for", world.resident.pk, "en-gb")

    # The reply form opens from the keyboard (a <details>, no script needed).
    reply_toggle = page.locator("details.reply summary")
    reply_toggle.focus()
    page.keyboard.press("Enter")
    reply = page.locator("details.reply")
    reply.get_by_label("Your reply").fill("Trees would give shade for free")
    reply.get_by_role("radio", name="Against").check()
    assert_accessible(page)  # the page with a comment and an open reply form
    reply.get_by_role("button", name="Publish your reply").click()
    expect(page.locator(".comment-replies").get_by_text("Trees would give shade")).to_be_visible()
    assert Comment.objects.get(parent=top).stance == "against"
    log_out(page)

    # Another resident flags the first comment.
    log_in(page, live_server, world.author.email, PASSWORD)
    page.goto(live_server.url + f"/proposals/{world.proposal.pk}/")
    page.locator(f"#comment-{top.pk}").get_by_role("button", name="Flag for the managers").click()
    expect(page.get_by_text("the area's managers will look at this comment")).to_be_visible()
    log_out(page)

    # The manager sees it waiting on the dashboard and hides it from the queue.
    log_in(page, live_server, world.manager.email, PASSWORD)
    page.get_by_role("link", name="1 flagged comment to moderate").click()
    expect(page.get_by_role("heading", name="Flagged comments")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Reason shown in place of the comment").fill("Off topic")
    page.get_by_role("button", name="Hide the comment").click()
    expect(page.get_by_text("No flagged comments are waiting.")).to_be_visible()
    page.goto(live_server.url + f"/proposals/{world.proposal.pk}/")
    expect(page.get_by_text("Hidden by a moderator: Off topic")).to_be_visible()
    expect(page.get_by_text("Please add shade too")).to_have_count(0)
    assert_accessible(page)


def test_comments_work_without_javascript(page_no_js, live_server, world):
    log_in(page_no_js, live_server, world.resident.email, PASSWORD)
    page_no_js.goto(live_server.url + f"/proposals/{world.proposal.pk}/")
    new = page_no_js.locator("#new-comment")
    new.get_by_label("Your comment").fill("Works without scripts")
    new.get_by_role("radio", name="Neutral").check()
    new.get_by_role("button", name="Publish your comment").click()
    expect(page_no_js.get_by_text("Works without scripts")).to_be_visible()
    assert Comment.objects.get().stance == "neutral"

from __future__ import annotations

import pytest

from backend.accounts.models import Notification
from backend.errors import Conflict, DomainError, NotAllowed
from pb.models import AuditEntry
from pb.proposals.models import Proposal, ProposalStatus
from pb.proposals.services import (
    proposal_create,
    proposal_hide,
    proposal_review,
    proposal_support,
    proposal_update,
    proposal_withdraw,
)

pytestmark = pytest.mark.django_db


def submit(world, **overrides):
    fields = {
        "author": world.resident,
        "round": world.round,
        "area": world.north,
        "title": "Benches in North Park",
        "description": "Six benches along the lake path.",
        "estimated_cost": 1_200_000,
        "theme": world.parks,
    }
    return proposal_create(**{**fields, **overrides})


def test_a_resident_submits_a_proposal_during_intake(world):
    proposal = submit(world)
    assert proposal.status == ProposalStatus.SUBMITTED
    assert proposal.submitted_at is not None
    assert [e.text for e in proposal.events.all()] == ["Submitted."]


def test_a_draft_can_be_saved_and_submitted_later(world):
    draft = submit(world, submit=False)
    assert draft.status == ProposalStatus.DRAFT
    proposal_update(actor=world.resident, proposal=draft, submit=True, title="Benches!")
    draft.refresh_from_db()
    assert draft.status == ProposalStatus.SUBMITTED and draft.title == "Benches!"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"estimated_cost": 0}, "estimated_cost"),
        ({"estimated_cost": -5}, "estimated_cost"),
        ({"estimated_cost": 10_000_001}, "estimated_cost"),
        ({"title": "   "}, "title"),
        ({"description": ""}, "description"),
    ],
)
def test_bad_proposals_get_a_field_error_and_nothing_is_stored(world, overrides, field):
    with pytest.raises(DomainError) as info:
        submit(world, **overrides)
    assert field in info.value.fields
    assert not Proposal.objects.exists()


def test_an_area_outside_the_round_is_refused(world):
    with pytest.raises(DomainError) as info:
        submit(world, area=world.elsewhere)
    assert "not taking part" in info.value.fields["area"][0]
    assert not Proposal.objects.exists()


@pytest.mark.parametrize("phase", ["draft", "review", "voting", "results"])
def test_submission_outside_intake_is_refused(world, phase):
    world.set_phase(phase)
    with pytest.raises(NotAllowed) as info:
        submit(world)
    assert info.value.code == "wrong_phase"
    assert not Proposal.objects.exists()


def test_the_author_can_edit_until_review_starts(world):
    proposal = submit(world)
    proposal_update(actor=world.resident, proposal=proposal, estimated_cost=900_000)
    world.set_phase("review")
    with pytest.raises(NotAllowed):
        proposal_update(actor=world.resident, proposal=proposal, title="Too late")
    proposal.refresh_from_db()
    assert proposal.title == "Benches in North Park" and proposal.estimated_cost == 900_000


def test_nobody_else_can_edit_a_proposal(world):
    proposal = submit(world)
    with pytest.raises(NotAllowed):
        proposal_update(actor=world.manager, proposal=proposal, title="Mine now")


def test_withdrawal_is_possible_until_voting_opens(world):
    proposal = submit(world)
    world.set_phase("deliberation")
    proposal_withdraw(actor=world.resident, proposal=proposal)
    assert proposal.status == ProposalStatus.WITHDRAWN


def test_withdrawal_after_voting_opens_is_refused(world):
    proposal = submit(world)
    world.set_phase("voting")
    with pytest.raises(NotAllowed):
        proposal_withdraw(actor=world.resident, proposal=proposal)
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.SUBMITTED


def test_support_counts_one_per_person(world, user_factory):
    proposal = submit(world)
    proposal_support(actor=world.councillor, proposal=proposal)
    proposal_support(actor=user_factory(), proposal=proposal)
    with pytest.raises(Conflict):
        proposal_support(actor=world.councillor, proposal=proposal)
    proposal.refresh_from_db()
    assert proposal.support_count == 2


def test_review_records_cost_and_reason_notifies_the_author_and_audits(
    world, mailoutbox, django_capture_on_commit_callbacks
):
    proposal = submit(world)
    world.set_phase("review")
    with django_capture_on_commit_callbacks(execute=True):
        proposal_review(
            actor=world.manager,
            proposal=proposal,
            decision="feasible",
            council_cost=1_500_000,
            reason="Parks team can fit these.",
        )
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.FEASIBLE
    assert proposal.council_cost == 1_500_000 and proposal.cost == 1_500_000
    note = Notification.objects.get(user=world.resident)
    assert "On the ballot" in note.subject and "Parks team can fit these." in note.body
    assert len(mailoutbox) == 1
    entry = AuditEntry.objects.get(action="proposal.review")
    assert entry.actor == world.manager and entry.reason == "Parks team can fit these."
    assert "£15,000" in proposal.events.last().text


def test_review_by_a_manager_of_another_area_is_refused(world):
    proposal = submit(world)
    world.set_phase("review")
    with pytest.raises(NotAllowed):
        proposal_review(
            actor=world.other_manager,
            proposal=proposal,
            decision="feasible",
            council_cost=1,
            reason="x",
        )
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.SUBMITTED
    assert not AuditEntry.objects.filter(action="proposal.review").exists()


@pytest.mark.parametrize(
    ("decision", "cost", "reason", "field"),
    [
        ("feasible", None, "ok", "council_cost"),
        ("feasible", 0, "ok", "council_cost"),
        ("feasible", 1000, "  ", "reason"),
        ("merged", None, "dup", "merged_into"),
        ("maybe", None, "dup", "decision"),
    ],
)
def test_incomplete_reviews_are_refused(world, decision, cost, reason, field):
    proposal = submit(world)
    world.set_phase("review")
    with pytest.raises(DomainError) as info:
        proposal_review(
            actor=world.manager,
            proposal=proposal,
            decision=decision,
            council_cost=cost,
            reason=reason,
        )
    assert field in info.value.fields


def test_the_second_of_two_reviews_is_told_someone_else_decided(world):
    proposal = submit(world)
    world.set_phase("review")
    stale_copy = type(proposal).objects.get(pk=proposal.pk)
    proposal_review(
        actor=world.manager, proposal=proposal, decision="not_feasible", reason="Private land."
    )
    with pytest.raises(Conflict) as info:
        proposal_review(
            actor=world.manager,
            proposal=stale_copy,
            decision="feasible",
            council_cost=100,
            reason="Fine.",
        )
    assert "already reviewed" in info.value.message
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.NOT_FEASIBLE


def test_merging_duplicates(world):
    first = submit(world)
    duplicate = submit(world, title="More benches please")
    world.set_phase("review")
    proposal_review(
        actor=world.manager,
        proposal=duplicate,
        decision="merged",
        merged_into=first,
        reason="Same idea as Benches in North Park.",
    )
    duplicate.refresh_from_db()
    assert duplicate.status == ProposalStatus.MERGED and duplicate.merged_into == first


def test_moderation_hides_with_a_reason_and_tells_the_author(
    world, django_capture_on_commit_callbacks
):
    proposal = submit(world)
    with pytest.raises(DomainError):
        proposal_hide(actor=world.manager, proposal=proposal, reason="")
    with django_capture_on_commit_callbacks(execute=True):
        proposal_hide(actor=world.manager, proposal=proposal, reason="Contains a phone number.")
    proposal.refresh_from_db()
    assert proposal.hidden and proposal.hidden_reason == "Contains a phone number."
    assert Notification.objects.filter(user=world.resident, subject__contains="moderated").exists()
    with pytest.raises(NotAllowed):
        proposal_hide(actor=world.resident, proposal=proposal, reason="I want to")


@pytest.mark.parametrize("phase", ["intake", "voting", "results"])
def test_review_outside_the_review_phase_is_refused(world, phase):
    proposal = submit(world)
    world.set_phase(phase)
    with pytest.raises(NotAllowed) as info:
        proposal_review(
            actor=world.manager, proposal=proposal, decision="feasible", council_cost=1, reason="x"
        )
    assert info.value.code == "wrong_phase"
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.SUBMITTED
    assert not AuditEntry.objects.filter(action="proposal.review").exists()

"""Casting ballots at the service level: every ballot type, eligibility, codes, receipts."""

from __future__ import annotations

import csv
import hashlib

import pytest
from django.core.management import call_command

from backend.errors import Conflict, DomainError, NotAllowed
from pb.models import AuditEntry
from pb.voting.models import Ballot, Participation, PendingBallot, VoterCode
from pb.voting.selectors import ballot_spec, rule_sentence, turnout
from pb.voting.services.casting import ballot_cast
from pb.voting.services.codes import voter_code_hash, voter_codes_issue

pytestmark = pytest.mark.django_db


def ids(*proposals):
    return {str(p.pk): 1 for p in proposals}


def nothing_stored():
    return not PendingBallot.objects.exists() and not Participation.objects.exists()


def test_a_checked_resident_casts_an_approval_ballot_and_gets_a_receipt(vw):
    receipt = ballot_cast(
        round=vw.round, voter=vw.resident, selections=[vw.trees.pk, vw.benches.pk]
    )
    ballot = PendingBallot.objects.get()
    assert ballot.selections == ids(vw.benches, vw.trees)
    assert ballot.area == vw.north and ballot.channel == "online"
    assert ballot.receipt_hash == hashlib.sha256(receipt.code.replace("-", "").encode()).hexdigest()
    participation = Participation.objects.get()
    assert participation.voter == vw.resident and participation.age_band == "45_54"
    for model in (Ballot, PendingBallot):
        assert "voter" not in {f.name for f in model._meta.fields}
    assert len(receipt.code.replace("-", "")) == 12


def test_a_second_vote_by_the_same_resident_is_a_conflict_and_stores_nothing_more(vw):
    ballot_cast(round=vw.round, voter=vw.resident, selections=[vw.trees.pk])
    with pytest.raises(Conflict) as exc:
        ballot_cast(round=vw.round, voter=vw.resident, selections=[vw.benches.pk])
    assert exc.value.status == 409 and exc.value.code == "already_voted"
    assert PendingBallot.objects.count() == 1 and Participation.objects.count() == 1


@pytest.mark.parametrize(
    ("ballot_type", "make", "code"),
    [
        ("approval_budget", lambda w: ids(w.trees, w.lights, w.mural), "over_budget"),
        ("approval_budget", lambda w: {}, "too_few"),
        ("approval_budget", lambda w: ids(w.south_pool), "unknown_project"),
        ("approval_budget", lambda w: ids(w.other_round_project), "unknown_project"),
        ("approval_budget", lambda w: ids(w.draft), "unknown_project"),
        ("approval_budget", lambda w: {str(w.trees.pk): 2}, "malformed"),
        ("approval_budget", lambda w: {str(w.trees.pk): "lots"}, "malformed"),
        ("approval_budget", lambda w: "trees", "malformed"),
        ("approval_budget", lambda w: [w.trees.pk, w.trees.pk], "malformed"),
        ("approval_count", lambda w: ids(w.trees, w.benches, w.lights), "too_many"),
        ("approval_count", lambda w: ids(w.trees), "too_few"),
        ("cumulative", lambda w: {str(w.trees.pk): 6, str(w.benches.pk): 3}, "points"),
        ("cumulative", lambda w: {str(w.trees.pk): 12, str(w.benches.pk): -2}, "malformed"),
        ("score", lambda w: {str(w.trees.pk): 11, str(w.benches.pk): 1}, "score_range"),
        ("score", lambda w: {str(w.trees.pk): 5}, "too_few"),
        ("ranking", lambda w: {str(w.trees.pk): 1, str(w.benches.pk): 3}, "ranking"),
        ("ranking", lambda w: {str(w.trees.pk): 1, str(w.benches.pk): 1}, "ranking"),
        (
            "ranking",
            lambda w: {
                str(p.pk): n for n, p in enumerate([w.trees, w.benches, w.lights, w.mural], 1)
            },
            "too_many",
        ),
    ],
)
def test_bad_ballots_are_refused_with_a_reason_and_nothing_is_stored(vw, ballot_type, make, code):
    top = 2 if ballot_type == "approval_count" else None
    vw.set(ballot_type=ballot_type, min_choices=2, max_choices=top, rank_k=3)
    with pytest.raises(DomainError) as exc:
        ballot_cast(round=vw.round, voter=vw.resident, selections=make(vw))
    assert exc.value.status == 400
    assert exc.value.code == code, exc.value.message
    assert "selections" in exc.value.fields
    assert nothing_stored()


@pytest.mark.parametrize(
    ("ballot_type", "make", "expected"),
    [
        ("approval_budget", lambda w: ids(w.trees, w.lights), None),
        ("approval_count", lambda w: [w.trees.pk, w.mural.pk], None),
        ("cumulative", lambda w: {str(w.trees.pk): 7, str(w.benches.pk): 3, str(w.mural.pk): 0}, 2),
        ("score", lambda w: {str(p.pk): 5 for p in (w.trees, w.benches, w.lights, w.mural)}, 4),
        ("ranking", lambda w: {str(w.mural.pk): 1, str(w.trees.pk): 2}, 2),
    ],
)
def test_good_ballots_of_every_type_are_stored_in_the_canonical_format(
    vw, ballot_type, make, expected
):
    vw.set(ballot_type=ballot_type, min_choices=2, max_choices=2, rank_k=3)
    ballot_cast(round=vw.round, voter=vw.resident, selections=make(vw))
    stored = PendingBallot.objects.get().selections
    assert all(isinstance(k, str) and isinstance(v, int) for k, v in stored.items())
    assert len(stored) == (expected or 2)


def test_the_cost_limit_is_the_areas_allocation_or_else_the_round_budget(vw):
    assert ballot_spec(round=vw.round, area_id=vw.north.pk).limit == 5_000_000
    vw.round.round_areas.filter(area=vw.north).update(allocation=None)
    vw.set()
    assert ballot_spec(round=vw.round, area_id=vw.north.pk).limit == 13_000_000
    ballot_cast(round=vw.round, voter=vw.resident, selections=ids(vw.trees, vw.lights, vw.mural))


def test_a_group_may_not_score_its_own_bid_when_the_round_says_so(vw):
    vw.set(ballot_type="score", groups_score_own_bid=False)
    others = {str(p.pk): 4 for p in (vw.benches, vw.lights, vw.mural)}
    with pytest.raises(DomainError) as exc:
        ballot_cast(
            round=vw.round,
            voter=vw.resident,
            selections={**others, str(vw.trees.pk): 10},
            own_bid=vw.trees.pk,
        )
    assert exc.value.code == "own_bid" and nothing_stored()
    ballot_cast(round=vw.round, voter=vw.resident, selections=others, own_bid=vw.trees.pk)
    assert str(vw.trees.pk) not in PendingBallot.objects.get().selections


def test_voting_outside_the_voting_phase_is_not_allowed(vw):
    for phase in ("deliberation", "counting", "results"):
        vw.set(phase=phase)
        with pytest.raises(NotAllowed) as exc:
            ballot_cast(round=vw.round, voter=vw.resident, selections=ids(vw.trees))
        assert exc.value.status == 403 and exc.value.code == "wrong_phase"
    assert nothing_stored()


def test_residents_vote_only_in_their_area_when_residence_is_required(vw):
    with pytest.raises(DomainError) as exc:
        ballot_cast(
            round=vw.round, voter=vw.resident, area_id=vw.south.pk, selections=ids(vw.south_pool)
        )
    assert exc.value.code == "ineligible" and nothing_stored()
    vw.set(require_residence=False)
    ballot_cast(
        round=vw.round, voter=vw.resident, area_id=vw.south.pk, selections=ids(vw.south_pool)
    )


def test_a_neighbourhood_resident_votes_in_the_ward_around_it(vw):
    street = vw.north.children.create(name="Mill Street", slug="mill-street")
    vw.resident.profile.home_area = street
    vw.resident.profile.save()
    ballot_cast(round=vw.round, voter=vw.resident, area_id=vw.north.pk, selections=ids(vw.trees))
    ballot = PendingBallot.objects.get()
    assert ballot.area == vw.north and ballot.selections == ids(vw.trees)
    assert Participation.objects.get().area == vw.north


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"verified": False}, "have not been checked"),
        ({"birth_year": "15 years ago"}, "16 or over"),
        ({"birth_year": None}, "16 or over"),
        ({"home_area": None}, "Choose the area"),
    ],
)
def test_an_account_that_is_not_eligible_cannot_vote(vw, clock, change, message):
    for k, v in change.items():
        if v == "15 years ago":
            v = clock.today().year - 15
        setattr(vw.resident.profile, k, v)
    vw.resident.profile.save()
    with pytest.raises(DomainError) as exc:
        ballot_cast(round=vw.round, voter=vw.resident, selections=ids(vw.trees))
    assert message in exc.value.message and nothing_stored()


def test_anonymous_people_need_a_voter_code(vw):
    with pytest.raises(DomainError) as exc:
        ballot_cast(round=vw.round, selections=ids(vw.trees))
    assert exc.value.code == "ineligible" and nothing_stored()


def test_a_voter_code_votes_once_in_its_area(vw):
    [code] = vw.codes(area=vw.north)
    receipt = ballot_cast(
        round=vw.round, voter_code=code.lower().replace("-", " "), selections=ids(vw.trees)
    )
    assert receipt.area_id == vw.north.pk
    participation = Participation.objects.get()
    assert participation.voter is None and participation.voter_code is not None
    with pytest.raises(Conflict) as exc:
        ballot_cast(round=vw.round, voter_code=code, selections=ids(vw.benches))
    assert exc.value.code == "code_not_accepted" and "votes once" in exc.value.message
    assert PendingBallot.objects.count() == 1


def test_unknown_codes_codes_for_another_area_and_codes_when_disabled_are_refused(vw):
    [south_code] = vw.codes(area=vw.south)
    with pytest.raises(DomainError) as exc:
        ballot_cast(round=vw.round, voter_code="AAAAA-AAAAA", selections=ids(vw.trees))
    assert exc.value.code == "code_not_accepted"
    with pytest.raises(DomainError) as exc:
        ballot_cast(
            round=vw.round, voter_code=south_code, area_id=vw.north.pk, selections=ids(vw.trees)
        )
    assert exc.value.code == "code_not_accepted"  # a good code for another area: the same
    with pytest.raises(DomainError) as exc:
        ballot_cast(round=vw.round, voter_code=south_code, selections=ids(vw.trees))
    # North takes this ballot, the code is South's: the one code refusal (tests/abuse).
    assert exc.value.code == "code_not_accepted"
    # Codes made before areas were required: the voter must still say where they vote.
    code_without_area = "ACDEF-GHJKM"
    VoterCode.objects.create(round=vw.round, code_hash=voter_code_hash(code_without_area))
    with pytest.raises(DomainError) as exc:
        ballot_cast(round=vw.round, voter_code=code_without_area, selections=ids(vw.trees))
    assert "area" in exc.value.fields
    vw.set(voter_codes_enabled=False)
    with pytest.raises(DomainError):
        ballot_cast(round=vw.round, voter_code=south_code, selections=ids(vw.south_pool))
    assert nothing_stored()
    # The refused code is still good where it belongs.
    vw.set(voter_codes_enabled=True)
    ballot_cast(round=vw.round, voter_code=south_code, selections=ids(vw.south_pool))


def test_voter_codes_are_short_unambiguous_unique_and_stored_as_keyed_hashes(vw):
    codes = vw.codes(500)
    assert len(set(codes)) == 500
    for code in codes:
        bare = code.replace("-", "")
        assert len(bare) == 10 and not set(bare) & set("0O1IL5S8B")
    stored = set(VoterCode.objects.values_list("code_hash", flat=True))
    assert voter_code_hash(codes[0]) in stored
    assert codes[0].replace("-", "") not in str(stored)
    assert hashlib.sha256(codes[0].replace("-", "").encode()).hexdigest() not in stored
    assert AuditEntry.objects.filter(action="voting.codes_issued", details__count=500).exists()


def test_only_managers_make_codes_and_not_after_voting(vw):
    vw.set(phase="deliberation")
    with pytest.raises(NotAllowed):
        voter_codes_issue(actor=vw.resident, round=vw.round, count=5, area=vw.north)
    with pytest.raises(DomainError):
        voter_codes_issue(actor=vw.manager, round=vw.round, count=0, area=vw.north)
    with pytest.raises(DomainError):
        voter_codes_issue(actor=vw.manager, round=vw.round, count=5, area=vw.elsewhere)
    vw.set(phase="counting")
    with pytest.raises(NotAllowed):
        voter_codes_issue(actor=vw.manager, round=vw.round, count=5, area=vw.north)
    assert not VoterCode.objects.exists()


def test_the_command_writes_codes_that_vote(vw, tmp_path):
    out = tmp_path / "codes.csv"
    call_command(
        "issue_voter_codes", vw.round.pk, "--count", "3", "--out", str(out), "--area", "north"
    )
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 3 and rows[0]["area"] == "north"
    ballot_cast(round=vw.round, voter_code=rows[0]["voter_code"], selections=ids(vw.trees))


def test_each_ballot_type_has_a_plain_sentence(vw):
    for kind in ("approval_budget", "approval_count", "score", "cumulative", "ranking"):
        vw.set(ballot_type=kind, max_choices=3)
        sentence = rule_sentence(ballot_spec(round=vw.round, area_id=vw.north.pk))
        assert sentence.endswith(".") and len(sentence) < 160
    vw.set(ballot_type="approval_budget")
    assert "£50,000" in rule_sentence(ballot_spec(round=vw.round, area_id=vw.north.pk))


def test_turnout_counts_by_area_and_channel(vw):
    [code] = vw.codes(area=vw.south)
    ballot_cast(round=vw.round, voter=vw.resident, selections=ids(vw.trees))
    ballot_cast(round=vw.round, voter_code=code, selections=ids(vw.south_pool))
    counts = turnout(round=vw.round, fresh=True)
    assert counts["total"] == 2 and counts["by_channel"]["online"] == 2
    assert [(a["name"], a["total"]) for a in counts["areas"]] == [("North", 1), ("South", 1)]

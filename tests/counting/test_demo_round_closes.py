"""From the demo council: closing a round's vote produces, with no manual step, the count, the
councillors' report, the residents' results, one message per participant and the open data."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import call_command

from backend.accounts.models import Notification, User
from feedback.models import NotificationSent, OutcomeReport
from pb.areas.models import Area
from pb.counting.models import Tally
from pb.proposals.models import Proposal
from pb.rounds.models import Round
from pb.rounds.services import round_advance_phase
from pb.voting.models import Ballot, Participation, PendingBallot
from pb.voting.services.casting import ballot_cast
from pb.voting.services.codes import voter_codes_issue
from tests.factories import UserFactory


@pytest.fixture
def demo(db: Any) -> Round:
    call_command("load_demo", stdout=io.StringIO())
    return Round.objects.get(slug="westgate-grants-2026")


def _resident_of(area: Area, n: int) -> User:
    person = UserFactory(email=f"westgate{n}@example.org")
    person.profile.home_area = area
    person.profile.birth_year = 1970 + n
    person.profile.verified = True
    person.profile.save()
    return person


@pytest.mark.slow
def test_closing_the_demo_vote_counts_reports_tells_and_publishes(
    demo: Round, client: Any, django_capture_on_commit_callbacks: Any
):
    westgate = Area.objects.get(slug="westgate")
    shortlist = {p.title: str(p.pk) for p in Proposal.objects.filter(round=demo)}
    lights, laptops = shortlist["Lighting on Ferry Path"], shortlist["Youth club laptops"]
    benches = shortlist["Benches by the library"]
    bulbs = shortlist["Bulb planting on the green"]
    residents = [_resident_of(westgate, n) for n in range(3)]
    for person in residents:
        ballot_cast(round=demo, selections=[lights, bulbs], voter=person)
    for code in voter_codes_issue(actor=None, round=demo, count=2, area=westgate):
        ballot_cast(round=demo, selections=[benches, laptops], voter_code=code)
    # Five are fewer than a batch: they wait, and the count seals them before it reads.
    assert PendingBallot.objects.filter(round=demo).count() == 5
    assert not Ballot.objects.filter(round=demo).exists()

    manager = User.objects.get(email="manager@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        round_advance_phase(
            actor=manager, round=demo, to_phase="counting", reason="Polls closed at 8pm"
        )

    demo.refresh_from_db()
    assert demo.phase == "results"
    assert Ballot.objects.filter(round=demo).count() == 5
    assert not PendingBallot.objects.filter(round=demo).exists()
    tally_ = Tally.objects.get(round=demo, area=westgate)
    # Lighting (£12,000) and bulbs (£3,500) have 3 votes each; with £4,500 left neither
    # benches (£6,000) nor laptops (£9,000), 2 votes each, fit the £20,000.
    assert sorted(tally_.outcome["winners"]) == sorted([lights, bulbs])
    assert tally_.outcome["projects"][benches]["reason"] == "did_not_fit"
    assert OutcomeReport.objects.filter(round=demo).count() == 1
    voters = Participation.objects.filter(round=demo, voter__isnull=False).count()
    assert voters == 3
    # The three voters with accounts and the demo resident who proposed the projects; voters
    # with codes are anonymous and read the results page instead.
    told = set(NotificationSent.objects.filter(round=demo).values_list("user__email", flat=True))
    assert told == {p.email for p in residents} | {"resident@example.org"}
    for person in residents:
        assert Notification.objects.filter(user=person).count() >= 1

    results = client.get(f"/rounds/{demo.slug}/results/")
    assert results.status_code == 200
    assert "Lighting on Ferry Path" in results.content.decode()
    assert client.get(f"/rounds/{demo.slug}/tally/").status_code == 200
    assert client.get(f"/rounds/{demo.slug}/ballots.pb?area=westgate").status_code == 200
    assert client.get(f"/rounds/{demo.slug}/data/").status_code == 200

    client.force_login(User.objects.get(email="councillor@example.org"))
    report = client.get(f"/rounds/{demo.slug}/report/")
    assert report.status_code == 200
    pdf = client.get(f"/rounds/{demo.slug}/report.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")

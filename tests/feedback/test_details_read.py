"""The deliberation figure "voters who read a proposal's page before voting", end to end."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from feedback import selectors
from pb.proposals.models import DetailsRead
from pb.proposals.services import details_read_record
from tests.feedback.conftest import Counted


def test_reading_a_proposal_page_is_noted_once_per_person_and_round(counted: Counted, client: Any):
    counted.round.phase = "voting"
    counted.round.save(update_fields=["phase"])
    reader = counted.voters[0]
    client.force_login(reader)
    for pk in (counted.bench.pk, counted.lights.pk, counted.bench.pk):
        assert client.get(reverse("proposal_detail", args=[pk])).status_code == 200
    assert DetailsRead.objects.filter(round=counted.round, user=reader).count() == 1

    client.logout()
    client.get(reverse("proposal_detail", args=[counted.bench.pk]))
    assert DetailsRead.objects.count() == 1


def test_reading_after_the_count_writes_nothing(counted: Counted):
    details_read_record(actor=counted.voters[0], round=counted.round)  # phase: results
    assert not DetailsRead.objects.exists()


def test_the_share_counts_voters_with_an_account_who_read_on_or_before_the_day_they_voted(
    counted: Counted,
):
    # Voters voted on 1 May 2027. One read the day before, one on the day, one only after.
    days = [dt.datetime(2027, 4, 30, 12), dt.datetime(2027, 5, 1, 9), dt.datetime(2027, 5, 3, 9)]
    for voter, day in zip(counted.voters, days, strict=False):
        row = DetailsRead.objects.create(round=counted.round, user=voter)
        DetailsRead.objects.filter(pk=row.pk).update(first_read_at=timezone.make_aware(day))

    report = selectors.deliberation_report(round=counted.round)

    assert report.opened_details.part == 2
    assert report.opened_details.whole == len(counted.voters)


def test_census_figures_let_the_report_flag_under_represented_groups(counted: Counted):
    # Voters: 3 men and 2 women (see the Counted fixture). Women are 550 of the 900 residents
    # (61%) but 40% of voters: under the default margin (below 80% of their share, 49%), so
    # flagged, but only once every area has census figures.
    counted.north.census = {"gender": {"woman": 150, "man": 150}}
    counted.north.save(update_fields=["census"])
    unknown = selectors.inclusion_report(round=counted.round)
    gender = next(d for d in unknown.demographics if d.question == "gender")
    assert gender.under_represented == ()

    counted.south.census = {"gender": {"woman": 400, "man": 200}}
    counted.south.save(update_fields=["census"])
    known = selectors.inclusion_report(round=counted.round)
    gender = next(d for d in known.demographics if d.question == "gender")
    assert gender.under_represented == ("woman",)


@pytest.mark.parametrize(
    "census",
    [
        {"shoe_size": {"9": 10}},
        {"gender": {"woman": -1}},
        {"gender": {"woman": "many"}},
        ["gender"],
    ],
)
def test_census_figures_that_make_no_sense_are_refused(census: Any, db: Any):
    from django.core.exceptions import ValidationError

    from pb.areas.models import Area

    with pytest.raises(ValidationError):
        Area(name="X", slug="x", census=census).full_clean()

"""The indicators core names its own channels, delivery statuses and NI4 answers (it imports no
Django); the selectors hand it the values the models store. Both sides must stay the same."""

from __future__ import annotations

import pytest
from django.db import models

from feedback import indicators as ind
from feedback.models import DeliveryStatus, NI4Answer
from pb.voting.models import Channel


@pytest.mark.parametrize(
    ("core", "stored"),
    [(ind.Channel, Channel), (ind.DeliveryStatus, DeliveryStatus), (ind.NI4Answer, NI4Answer)],
    ids=["channel", "delivery status", "NI4 answer"],
)
def test_the_core_and_the_models_name_the_same_values(
    core: type, stored: type[models.TextChoices]
) -> None:
    assert [member.value for member in core] == list(stored.values)
    assert {member.name for member in core} == set(stored.names)


def test_a_stored_status_counts_in_the_core() -> None:
    # The selectors pass what the database holds, a plain string: the core must count it.
    report = ind.influence_indicators(
        total_budget=150,
        resident_decided=150,
        projects=[
            ind.ProjectOutcome("1", "Bench", 100, True, status=str(DeliveryStatus.DELIVERED)),
            ind.ProjectOutcome("2", "Tree", 50, True, status=str(DeliveryStatus.DELAYED)),
        ],
        proposals_submitted=2,
        proposals_on_ballot=2,
        survey=[
            ind.SurveyResponse(influence=str(NI4Answer.TEND_TO_AGREE)),
            ind.SurveyResponse(influence=str(NI4Answer.DONT_KNOW)),
        ],
    )
    assert report.status_counts[ind.DeliveryStatus.DELIVERED] == 1
    assert report.status_counts["delayed"] == 1
    assert (report.delivered_by_money.part, report.delivered_by_money.whole) == (100, 150)
    assert (report.ni4.agreeing.part, report.ni4.agreeing.whole) == (1, 1)

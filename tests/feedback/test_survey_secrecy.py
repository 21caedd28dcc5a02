"""Survey answers are sealed in batches as ballots are: nothing pairs an answer with its author."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from backend.errors import NotAllowed
from feedback import services, tasks
from feedback.models import OutcomeReport, PendingSurveyAnswer, SurveyAnswer
from pb.voting.models import Participation
from pb.voting.sealing import MIN_BATCH
from tests.conftest import need
from tests.factories import UserFactory
from tests.feedback.conftest import Counted


def _more_voters(counted: Counted, n: int) -> list:
    voters = []
    for i in range(n):
        voter = UserFactory(email=f"more{i}@example.org")
        Participation.objects.create(
            round=counted.round,
            area=counted.north,
            voter=voter,
            channel="online",
            voted_on=dt.date(2027, 5, 1),
        )
        voters.append(voter)
    return voters


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_sealed_survey_answers_share_no_transaction_with_the_invitations_they_answer():
    need(connection.vendor == "postgresql", "PostgreSQL (set DATABASE_URL)")
    counted = Counted()
    voters = counted.voters + _more_voters(counted, MIN_BATCH)
    for i, voter in enumerate(voters):
        services.survey_answer(actor=voter, round=counted.round, comment=f"answer {i}")
    # The 20th answer enqueued the seal on commit (tasks run inline in tests).
    assert SurveyAnswer.objects.count() >= MIN_BATCH
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM feedback_surveyinvitation i"
            " JOIN feedback_surveyanswer a ON a.xmin = i.xmin"
        )
        assert cursor.fetchone()[0] == 0
        # Within the batch, ids and places on disk are in shuffled order, not answer order.
        cursor.execute("SELECT comment FROM feedback_surveyanswer ORDER BY id")
        by_id = [int(c.split()[1]) for (c,) in cursor.fetchall()]
    assert by_id != sorted(by_id)


@pytest.mark.django_db
def test_answers_wait_for_a_batch_and_the_rest_are_sealed_when_the_survey_closes():
    counted = Counted()
    for voter in counted.voters:
        services.survey_answer(actor=voter, round=counted.round, influence="dont_know")
    assert tasks.seal_due_survey_answers() == 0
    assert not SurveyAnswer.objects.exists() and PendingSurveyAnswer.objects.count() == 5
    report = OutcomeReport.objects.create(
        round=counted.round,
        inputs_key="k",
        figures={},
        built_at=timezone.now() - dt.timedelta(days=services.selectors.SURVEY_DAYS + 1),
    )
    assert tasks.seal_due_survey_answers() == 5
    assert SurveyAnswer.objects.count() == 5 and not PendingSurveyAnswer.objects.exists()
    assert len({a.sealed_on for a in SurveyAnswer.objects.all()}) == 1
    late = _more_voters(counted, 1)[0]
    with pytest.raises(NotAllowed, match="survey closed"):
        services.survey_answer(actor=late, round=counted.round, influence="dont_know")
    assert report.pk

"""A count announces "round counted" once it has committed, and the outcome feedback (which pb
cannot import) hears it through its subscription; a failing subscriber is never swallowed."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from feedback import tasks as feedback_tasks
from feedback.models import OutcomeReport
from pb import events
from pb.counting.services import round_count
from tests.counting.conftest import CountWorld


def test_feedback_subscribes_to_round_counted_when_the_app_is_ready():
    assert feedback_tasks.start_outcome_pipeline in events.round_counted_subscribers()


def test_the_outcome_pipeline_starts_only_after_the_count_commits(
    cw: CountWorld, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
):
    started: list[int] = []
    monkeypatch.setattr(feedback_tasks.outcome_pipeline, "delay", started.append)
    cw.cast(cw.north, cw.bench)
    cw.set_phase("counting")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        round_count(round=cw.round)
    assert started == []  # not inside the count's transaction
    for callback in callbacks:
        callback()
    assert started == [cw.round.pk]


def test_a_count_starts_the_outcome_report(cw: CountWorld, django_capture_on_commit_callbacks: Any):
    cw.cast(cw.north, cw.bench)
    cw.set_phase("counting")
    with django_capture_on_commit_callbacks(execute=True):
        round_count(round=cw.round)
    assert OutcomeReport.objects.filter(round=cw.round).exists()


def test_a_subscriber_that_fails_raises_into_the_count(
    cw: CountWorld, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
):
    def broken(round_id: int) -> None:
        raise ConnectionError("broker down")

    monkeypatch.setattr(feedback_tasks.outcome_pipeline, "delay", broken)
    cw.cast(cw.north, cw.bench)
    cw.set_phase("counting")
    # The task that ran the count fails and is retried (acks_late); nothing is dropped.
    with (
        pytest.raises(ConnectionError, match="broker down"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        round_count(round=cw.round)


def test_a_rolled_back_announcement_is_never_delivered(
    db: Any, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
):
    heard: list[int] = []
    monkeypatch.setattr(events.round_counted, "_handlers", [heard.append])
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            events.round_counted_announce(round_id=7)
            transaction.set_rollback(True)
        events.round_counted_announce(round_id=8)
    assert heard == [8]


def test_subscribing_twice_keeps_one_subscription(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(events.round_counted, "_handlers", [])
    events.round_counted_subscribe(feedback_tasks.start_outcome_pipeline)
    events.round_counted_subscribe(feedback_tasks.start_outcome_pipeline)
    assert events.round_counted_subscribers() == (feedback_tasks.start_outcome_pipeline,)

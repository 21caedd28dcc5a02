"""A broker restart with work queued: the broker's append-only file keeps the task; without
it (Redis as it used to be configured) the task is lost and beat's sweeper starts it again.

Both run a real Celery worker on a private Redis (tests/reliability/private.py), restarted with
SIGTERM as ``docker restart`` does, and the test's PostgreSQL database.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from backend.celery import app
from pb.counting.models import Tally
from pb.counting.tasks import resume_stalled_counts, tally_round
from pb.models import AuditEntry
from pb.rounds.models import Round
from tests.conftest import need
from tests.counting.conftest import CountWorld
from tests.factories import RoundFactory
from tests.reliability.private import PrivateRedis
from tests.reliability.test_worker_kill import Workers, _send, _worker_sessions, wait_until

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.slow,
]


def counting_round(cw: CountWorld) -> Round:
    """A round of its own in counting, with ballots, whose count task is about to be queued."""
    round_ = RoundFactory(phase="counting", style="decision_day", budget=50_000)
    bench = cw.proposal("Benches", 20_000, cw.north, round_=round_)
    cw.proposal("Lights", 40_000, cw.north, round_=round_)
    cw.cast(cw.north, bench, round_=round_)
    return round_


def counted(round_: Round) -> bool:
    round_.refresh_from_db()
    return round_.phase == "results" and Tally.objects.filter(round=round_).exists()


def test_a_count_queued_across_a_broker_restart_is_done_once(tmp_path: Path, settings):
    need(connection.vendor == "postgresql", "PostgreSQL (set DATABASE_URL)")
    cw = CountWorld()
    kept_round, lost_round = counting_round(cw), counting_round(cw)
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    durable = PrivateRedis(tmp_path / "durable", appendonly=True).start()
    forgetful = PrivateRedis(tmp_path / "forgetful", appendonly=False).start()
    workers = Workers(tmp_path / "logs", durable.url)
    try:
        # The count is queued while no worker is free, and then the broker restarts.
        for broker, round_ in ((durable, kept_round), (forgetful, lost_round)):
            _send(tally_round, round_.pk, url=broker.url)
            assert broker.client().llen("tally") == 1
            broker.restart()
        assert durable.client().llen("tally") == 1  # kept by the append-only file
        assert forgetful.client().llen("tally") == 0  # lost

        workers.start()
        wait_until(lambda: counted(kept_round), timeout=120, what="the kept count", workers=workers)
        assert Tally.objects.filter(round=kept_round).count() == 1
        assert not counted(lost_round)

        # Beat's sweeper, ten minutes on, through the same worker: the lost count is redone.
        past = timezone.now() - dt.timedelta(seconds=settings.SWEEP_GRACE + 60)
        Round.objects.filter(pk=lost_round.pk).update(created_at=past)
        AuditEntry.objects.filter(round=lost_round).update(at=past)
        _send(resume_stalled_counts, url=durable.url)
        wait_until(
            lambda: counted(lost_round), timeout=120, what="the swept count", workers=workers
        )
        assert Tally.objects.filter(round=lost_round).count() == 1
        assert Tally.objects.filter(round=kept_round).count() == 1  # not counted again
    finally:
        workers.kill_all()
        wait_until(lambda: not _worker_sessions(), timeout=30, what="worker sessions to end")
        durable.stop()
        forgetful.stop()
        app.conf.task_always_eager = eager

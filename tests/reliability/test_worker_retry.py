"""Celery retries a failed outcome step on its own, through a real worker and broker, after a
real failure (issue 18: the retry path had only run eagerly, with ``max_retries=0``).

The failure is the storage's, not a stand-in raising on cue: a file sits where the round's
open-data folder must go, so writing the open-data files fails as a full or misconfigured
disk would. The test sees the step recorded as failed, takes the file away, and waits for the
worker's retry (``autoretry_for``, ``retry_backoff``: the first retry within 5 seconds) to
publish the files. Nobody presses "run again".

The worker runs the production app unchanged (the kill tests shorten the broker's visibility
timeout; a retry waiting out its countdown must not be handed out twice meanwhile).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from feedback.models import OutcomeReport, StepName, StepStatus
from feedback.tasks import outcome_pipeline
from pb.counting.services import tally_store
from tests.reliability.test_worker_kill import (
    Council,
    Workers,
    _pipeline_finished,
    _private_redis_url,
    _send,
    _step,
    _worker_sessions,
    broker,  # noqa: F401 (a fixture)
    wait_until,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.slow,
]

PRODUCTION_WORKER_MAIN = """
import sys
from backend.celery import app
app.worker_main(["worker", *sys.argv[1:]])
"""


class ProductionWorkers(Workers):
    main = PRODUCTION_WORKER_MAIN


@pytest.fixture
def workers(broker: Any, tmp_path: Path) -> Iterator[Workers]:  # noqa: F811 (uses the fixture)
    pool = ProductionWorkers(tmp_path / "logs", _private_redis_url())
    try:
        yield pool
    finally:
        pool.kill_all()
        wait_until(
            lambda: not _worker_sessions(),
            timeout=30,
            what="worker sessions to end",
            detail=_worker_sessions,
        )


def test_an_outcome_step_that_fails_for_real_is_retried_by_celery_until_it_succeeds(
    broker: Any,  # noqa: F811 (the fixture)
    workers: Workers,
) -> None:
    council = Council(voters=5, phase="results")
    for area in (council.north, council.south):
        tally_store(round=council.round, area=area)
    blocker = Path(settings.MEDIA_ROOT) / "open-data" / council.round.slug
    blocker.parent.mkdir(parents=True, exist_ok=True)
    blocker.write_text("not a folder")  # open-data/<round>/... cannot be created

    workers.start()
    _send(outcome_pipeline, council.round.pk, url=workers.env["REDIS_URL"])

    def open_data_failed() -> Any:
        report = OutcomeReport.objects.filter(round=council.round).first()
        if report is None:
            return None
        step = _step(report, StepName.OPEN_DATA)
        return step if step.status == StepStatus.FAILED else None

    failed = wait_until(
        open_data_failed, timeout=120, what="the open-data step to fail", workers=workers
    )
    assert "Error" in failed.error and "open-data" in failed.error, failed.error
    assert failed.attempts >= 1
    blocker.unlink()  # the disk is fixed

    wait_until(
        lambda: _pipeline_finished(council.round, broker),
        timeout=180,
        what="Celery's retry to publish the open data",
        workers=workers,
    )
    report = OutcomeReport.objects.get(round=council.round)
    step = _step(report, StepName.OPEN_DATA)
    assert step.status == StepStatus.DONE and step.error == ""
    assert step.attempts >= 2  # the failed attempt(s), then the one that wrote the files
    assert _step(report, StepName.REPORT).attempts == 1
    assert _step(report, StepName.NOTIFY).attempts == 1
    for item in report.open_data:
        if "path" in item:
            assert (Path(settings.MEDIA_ROOT) / item["path"]).stat().st_size == item["bytes"]
    log = workers.text()
    retries = re.findall(r"Task feedback\.tasks\.publish_open_data\[[^\]]+\] retry: Retry in", log)
    assert len(retries) == step.attempts - 1, workers.tails()

"""A Celery worker killed in the middle of a job: after a restart the job ends once (issue 9).

These tests run real worker processes (``celery worker``, prefork pool) on Redis and the test's
PostgreSQL database, and ``SIGKILL`` the worker's whole process group mid-task, as a crashed
machine or an OOM kill would. The tasks are ``acks_late``, so the message stays unacknowledged
in Redis and is delivered again to the next worker; the services are idempotent, so the redone
work lands once.

How the kill lands mid-way every time, with no sleep and no race: before the task runs, the
test writes, in its own uncommitted transaction on another connection, a row with the same
unique key as one the worker is about to write (the first person of the second notify batch;
the second area's tally). The worker's insert then waits on that row lock. The test sees it
waiting (``pg_blocking_pids``), with the first batch (or area) already committed, kills the
worker, and only then rolls its own row back. The killed worker's transaction never commits,
since only its client could send ``COMMIT``.

Redelivery: Redis has no acknowledgements of its own; kombu keeps each delivered message in an
``unacked`` hash and puts it back on its queue once it is older than the transport's
``visibility_timeout`` (one hour by default), checked when a worker starts polling and then
every ``unacked_restore_interval`` x ``unacked_restore_throttle`` seconds. The workers here run
the production app with those three options shortened so the test takes seconds, not an hour.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count
from django.urls import reverse

from backend.accounts.models import Notification, User
from backend.celery import app
from feedback.models import NotificationSent, OutcomeReport, PipelineStep, StepName, StepStatus
from feedback.services import NOTIFY_BATCH
from feedback.tasks import outcome_pipeline
from pb.counting.models import Tally
from pb.counting.services import count_inputs, tally_store
from pb.counting.tasks import tally_round
from pb.models import AuditEntry
from pb.proposals.models import Proposal
from pb.rounds.models import Round, RoundArea
from pb.voting.models import Ballot, Participation
from tests.conftest import need
from tests.factories import AreaFactory, RoundFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
QUEUES = "celery,tally,notifications"
#: Seconds before kombu hands an unacknowledged message to another worker (production: 3600).
VISIBILITY_TIMEOUT = 2
WORKER_APP_NAME = "commonpurse-kill-test-worker"
WORKER_MAIN = f"""
import sys
from backend.celery import app
app.conf.broker_transport_options = {{
    "visibility_timeout": {VISIBILITY_TIMEOUT},
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
}}
app.worker_main(["worker", *sys.argv[1:]])
"""


# --- Real services --------------------------------------------------------------------------


def _private_redis_url() -> str:
    """A Redis database of its own, so other workers and test runs never take our messages."""
    base = os.environ.get("REDIS_URL", "")
    need(bool(base), "Redis (set REDIS_URL)")
    parts = urlsplit(base)
    used = parts.path.strip("/") or "0"
    # One per pytest-xdist worker: the broker fixture empties its database, and a kill test on
    # one worker must not lose the messages of the retry test running on the other.
    index = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
    free = [str(n) for n in range(9, 16) if str(n) != used]
    db = os.environ.get("RELIABILITY_REDIS_DB") or free[index % len(free)]
    return urlunsplit(parts._replace(path=f"/{db}"))


def _test_database_url() -> str:
    """The pytest-django test database (``test_...``), as the worker's ``DATABASE_URL``."""
    s = connection.settings_dict
    auth = quote(s["USER"] or "", safe="")
    if s["PASSWORD"]:
        auth += ":" + quote(s["PASSWORD"], safe="")
    host = s["HOST"] or "127.0.0.1"
    port = s["PORT"] or "5432"
    return f"postgres://{auth}@{host}:{port}/{s['NAME']}"


@pytest.fixture
def broker() -> Iterator[Any]:
    """The private Redis database, empty, with the test's Celery app sending for real."""
    need(connection.vendor == "postgresql", "PostgreSQL (set DATABASE_URL)")
    url = _private_redis_url()
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.ping()
    except redis.RedisError:
        need(False, f"Redis at {url}")
    client.flushdb()
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        yield client
    finally:
        app.conf.task_always_eager = eager
        client.flushdb()
        client.close()


def _send(task: Any, *args: Any, url: str) -> None:
    """Publish a task to the private broker (not the app's configured one)."""
    with app.connection_for_write(url) as conn:
        task.apply_async(args, connection=conn, ignore_result=True)


def _broker_idle(client: Any) -> bool:
    """No message waiting on any queue and none delivered but not yet acknowledged."""
    if client.hlen("unacked"):
        return False
    return not any(client.llen(key) for key in client.scan_iter() if client.type(key) == b"list")


def _worker_sessions() -> list[tuple[int, str, str, str]]:
    """The workers' PostgreSQL sessions (named by ``PGAPPNAME``), dead workers' included."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid, state, coalesce(wait_event_type, ''), left(query, 80) "
            "FROM pg_stat_activity WHERE datname = current_database() AND application_name = %s",
            [WORKER_APP_NAME],
        )
        return list(cursor.fetchall())


def wait_until(
    predicate: Callable[[], Any],
    *,
    timeout: float,
    what: str,
    workers: Workers | None = None,
    detail: Callable[[], object] | None = None,
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if workers is not None:
            workers.check_alive()
        if time.monotonic() > deadline:
            logs = workers.tails() if workers is not None else ""
            if detail is not None:
                logs += f"\n{detail()}"
            raise AssertionError(f"Timed out after {timeout:.0f} s waiting for {what}\n{logs}")
        time.sleep(0.05)


class Workers:
    """Celery worker processes, each the leader of its own process group."""

    #: The worker's ``python -c`` program (a subclass may run the production options as they are).
    main = WORKER_MAIN

    def __init__(self, logs: Path, broker_url: str) -> None:
        self.logs = logs
        self.logs.mkdir(parents=True, exist_ok=True)
        self.env = {
            **os.environ,
            "DATABASE_URL": _test_database_url(),
            "REDIS_URL": broker_url,
            "CELERY_BROKER_URL": broker_url,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "DEBUG": "true",
            "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend",
            "MEDIA_ROOT": str(settings.MEDIA_ROOT),
            "PYTHONUNBUFFERED": "1",
            "PGAPPNAME": WORKER_APP_NAME,
        }
        self.started: list[tuple[subprocess.Popen[bytes], Path]] = []

    def start(self) -> subprocess.Popen[bytes]:
        n = len(self.started) + 1
        log = self.logs / f"worker-{n}.log"
        argv = [
            *("-Q", QUEUES, "-c", "1", "-P", "prefork", "-l", "info", "-n", f"kill{n}@%h"),
            *("--without-heartbeat", "--without-gossip", "--without-mingle"),
        ]
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-c", self.main, *argv],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.started.append((proc, log))
        wait_until(
            lambda: " ready." in log.read_text(errors="replace"),
            timeout=60,
            what=f"worker {n} to start",
            workers=self,
        )
        return proc

    def kill(self, proc: subprocess.Popen[bytes]) -> None:
        """SIGKILL the worker and its pool processes at once, as a crashed machine would."""
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)

    def kill_all(self) -> None:
        for proc, _log in self.started:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)

    def check_alive(self) -> None:
        for proc, log in self.started:
            if proc.returncode is None and proc.poll() is not None:
                raise AssertionError(f"{log.name} exited by itself:\n{self.tails()}")

    def text(self) -> str:
        return "".join(log.read_text(errors="replace") for _proc, log in self.started)

    def tails(self) -> str:
        return "\n".join(
            f"--- {log.name} ---\n" + "\n".join(log.read_text(errors="replace").splitlines()[-40:])
            for _proc, log in self.started
        )


@pytest.fixture
def workers(broker: Any, tmp_path: Path) -> Iterator[Workers]:
    pool = Workers(tmp_path / "logs", _private_redis_url())
    try:
        yield pool
    finally:
        pool.kill_all()
        # The flush after a transactional test truncates every table: wait until the killed
        # workers' sessions have gone, or it would wait on their locks.
        wait_until(
            lambda: not _worker_sessions(),
            timeout=30,
            what="worker sessions to end",
            detail=_worker_sessions,
        )


class RowHeld:
    """One row written in an open transaction on another connection, rolled back on exit.

    The worker's insert of the same unique key waits on it: the test's way to stop a worker at
    a known point. ``waiters()`` lists the sessions waiting on it.
    """

    def __init__(self, write: Callable[[], object]) -> None:
        self.write = write
        self.ready = threading.Event()
        self.release = threading.Event()
        self.pid = 0
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._hold, daemon=True)

    def _hold(self) -> None:
        from django.db import connection as own

        try:
            with transaction.atomic():
                self.write()
                with own.cursor() as cursor:
                    cursor.execute("SELECT pg_backend_pid()")
                    self.pid = cursor.fetchone()[0]
                self.ready.set()
                self.release.wait(timeout=180)
                transaction.set_rollback(True)
        except BaseException as exc:
            self.error = exc
        finally:
            own.close()
            self.ready.set()

    def __enter__(self) -> RowHeld:
        self.thread.start()
        self.ready.wait(timeout=30)
        if self.error is not None:
            raise self.error
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.thread.join(timeout=30)

    def waiters(self) -> list[int]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))",
                [self.pid],
            )
            return [row[0] for row in cursor.fetchall()]


# --- A council with many voters -------------------------------------------------------------


class Council:
    """One round over two areas with ``voters`` account holders in each, all having voted."""

    def __init__(self, *, voters: int, phase: str) -> None:
        self.north = AreaFactory(name="North", slug="north", population=10 * voters)
        self.south = AreaFactory(name="South", slug="south", population=10 * voters)
        self.round = RoundFactory(name="City 2027", slug="city-2027", budget=90_000, phase=phase)
        RoundArea.objects.create(round=self.round, area=self.north, allocation=50_000)
        RoundArea.objects.create(round=self.round, area=self.south, allocation=40_000)
        self.author = UserFactory(email="author@example.org")
        projects = {
            self.north: [self._proposal(self.north, t, c) for t, c in NORTH],
            self.south: [self._proposal(self.south, t, c) for t, c in SOUTH],
        }
        people = User.objects.bulk_create(
            User(email=f"voter{i}@example.org", display_name=f"Voter {i}", password="!")
            for i in range(2 * voters)
        )
        cast_on = dt.date(2027, 5, 1)
        participations, ballots = [], []
        for i, person in enumerate(people):
            area = self.north if i % 2 else self.south
            chosen = projects[area][i % 3 :: 2] or projects[area][:1]
            participations.append(
                Participation(
                    round=self.round, area=area, voter=person, channel="online", voted_on=cast_on
                )
            )
            ballots.append(
                Ballot(
                    round=self.round,
                    area=area,
                    channel="online",
                    selections={str(p.pk): 1 for p in chosen},
                    sealed_on=cast_on,
                )
            )
        Participation.objects.bulk_create(participations)
        Ballot.objects.bulk_create(ballots)
        self.expected_recipients = sorted([p.pk for p in people] + [self.author.pk])

    def _proposal(self, area: Any, title: str, cost: int) -> Proposal:
        return Proposal.objects.create(
            round=self.round,
            area=area,
            author=self.author,
            title=title,
            description=f"{title} for {area.name}",
            estimated_cost=cost,
            status="feasible",
        )

    def recipients(self) -> list[int]:
        """Who must be told, written down rather than asked of the selector under test: every
        voter and the author of the projects, in id order (the order batches go in)."""
        return self.expected_recipients


NORTH = [("Benches", 20_000), ("Lights", 30_000), ("Trees", 25_000)]
SOUTH = [("Mural", 30_000), ("Pond", 15_000), ("Play area", 20_000)]


# --- What "finished once" means -------------------------------------------------------------


def _step(report: OutcomeReport, name: str) -> PipelineStep:
    return PipelineStep.objects.get(report=report, name=name)


def _pipeline_finished(round_: Round, client: Any) -> bool:
    report = OutcomeReport.objects.filter(round=round_).first()
    if report is None or _step(report, StepName.OPEN_DATA).status != StepStatus.DONE:
        return False
    unsent = NotificationSent.objects.filter(round=round_, wants_email=True, emailed_at=None)
    return not unsent.exists() and _broker_idle(client)


def assert_told_once(council: Council, workers: Workers) -> OutcomeReport:
    """One report, built and published once; one message and one e-mail per participant."""
    round_ = council.round
    recipients = council.recipients()
    assert OutcomeReport.objects.filter(round=round_).count() == 1
    report = OutcomeReport.objects.get(round=round_)
    assert report.is_built and report.published_at is not None
    steps = {s.name: s for s in report.steps.all()}
    assert {name: s.status for name, s in steps.items()} == {
        StepName.REPORT: StepStatus.DONE,
        StepName.NOTIFY: StepStatus.DONE,
        StepName.OPEN_DATA: StepStatus.DONE,
    }
    assert steps[StepName.NOTIFY].done_count == len(recipients)
    assert steps[StepName.OPEN_DATA].attempts == 1  # published once, after the kill
    names = [f["name"] for f in report.open_data]
    assert len(names) == len(set(names)) and "tally.json" in names
    for item in report.open_data:
        if "path" in item:
            assert (Path(settings.MEDIA_ROOT) / item["path"]).stat().st_size == item["bytes"]

    sent = Counter(NotificationSent.objects.filter(round=round_).values_list("user_id", flat=True))
    assert sorted(sent) == recipients and set(sent.values()) == {1}
    url = reverse("round_results", args=[round_.slug])
    dashboard = dict(
        Notification.objects.filter(url=url)
        .values("user_id")
        .annotate(n=Count("id"))
        .values_list("user_id", "n")
    )
    assert sorted(dashboard) == recipients and set(dashboard.values()) == {1}
    linked = NotificationSent.objects.filter(round=round_, notification__isnull=False).count()
    assert linked == len(recipients)

    wanted = set(
        NotificationSent.objects.filter(round=round_, wants_email=True).values_list(
            "user__email", flat=True
        )
    )
    emailed = Counter(re.findall(r"^To: (\S+)$", workers.text(), flags=re.MULTILINE))
    assert set(emailed) == wanted and set(emailed.values()) == {1}
    return report


# --- The tests ------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.slow
def test_a_worker_killed_while_telling_participants_leaves_one_report_and_one_message_each(
    broker: Any, workers: Workers
):
    council = Council(voters=NOTIFY_BATCH // 2 + 100, phase="results")
    for area in (council.north, council.south):
        tally_store(round=council.round, area=area)
    recipients = council.recipients()
    assert len(recipients) > NOTIFY_BATCH  # so telling them takes two batches
    first_of_second_batch = recipients[NOTIFY_BATCH]
    url = workers.env["REDIS_URL"]

    def claim_second_batch() -> None:
        NotificationSent.objects.create(round=council.round, user_id=first_of_second_batch)

    started = time.monotonic()
    with RowHeld(claim_second_batch) as held:
        victim = workers.start()
        _send(outcome_pipeline, council.round.pk, url=url)
        waiting = wait_until(
            held.waiters, timeout=60, what="the second notify batch", workers=workers
        )
        assert set(waiting) <= {pid for pid, *_ in _worker_sessions()}
        # Mid-step: the report is built, the first batch is committed, the second is not.
        report = OutcomeReport.objects.get(round=council.round)
        assert report.is_built
        assert _step(report, StepName.NOTIFY).status == StepStatus.RUNNING
        assert NotificationSent.objects.filter(round=council.round).count() == NOTIFY_BATCH
        workers.kill(victim)
    killed_at = time.monotonic()

    # The killed worker's half-written batch is rolled back as a whole: messages and their
    # records together, nothing of the second batch.
    wait_until(
        lambda: not _worker_sessions(),
        timeout=30,
        what="the killed worker's sessions",
        detail=_worker_sessions,
    )
    url_results = reverse("round_results", args=[council.round.slug])
    assert NotificationSent.objects.filter(round=council.round).count() == NOTIFY_BATCH
    assert Notification.objects.filter(url=url_results).count() == NOTIFY_BATCH
    assert _step(report, StepName.NOTIFY).status == StepStatus.RUNNING
    assert _step(report, StepName.OPEN_DATA).status == StepStatus.PENDING

    workers.start()
    wait_until(
        lambda: _pipeline_finished(council.round, broker),
        timeout=120,
        what="the pipeline to finish after the restart",
        workers=workers,
    )
    finished_at = time.monotonic()
    report = assert_told_once(council, workers)
    assert _step(report, StepName.REPORT).attempts == 1
    assert _step(report, StepName.NOTIFY).attempts >= 2  # the killed attempt, then the redo
    print(
        f"\nnotify kill: {killed_at - started:.1f} s to the kill, "
        f"{finished_at - killed_at:.1f} s from the kill to the end"
    )


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.slow
def test_a_worker_killed_while_counting_stores_one_tally_per_area_and_tells_everyone_once(
    broker: Any, workers: Workers
):
    council = Council(voters=60, phase="counting")
    south = count_inputs(round=council.round, area=council.south)
    url = workers.env["REDIS_URL"]

    def count_south_first() -> None:
        Tally.objects.create(
            round=council.round,
            area=council.south,
            rule=council.round.rule,
            inputs_hash=south.inputs_hash,
            outcome={},
            seconds=0,
        )

    started = time.monotonic()
    with RowHeld(count_south_first) as held:
        victim = workers.start()
        _send(tally_round, council.round.pk, url=url)
        waiting = wait_until(held.waiters, timeout=60, what="the count of South", workers=workers)
        assert set(waiting) <= {pid for pid, *_ in _worker_sessions()}
        # Mid-count: North (counted first, by name) is stored, South is being written.
        assert list(Tally.objects.filter(round=council.round).values_list("area", flat=True)) == [
            council.north.pk
        ]
        workers.kill(victim)
    killed_at = time.monotonic()

    wait_until(
        lambda: not _worker_sessions(),
        timeout=30,
        what="the killed worker's sessions",
        detail=_worker_sessions,
    )
    assert Tally.objects.filter(round=council.round).count() == 1
    council.round.refresh_from_db()
    assert council.round.phase == "counting"

    workers.start()
    wait_until(
        lambda: _pipeline_finished(council.round, broker),
        timeout=120,
        what="the count and the pipeline to finish after the restart",
        workers=workers,
    )
    finished_at = time.monotonic()
    council.round.refresh_from_db()
    assert council.round.phase == "results"
    tallies = Tally.objects.filter(round=council.round)
    assert sorted(tallies.values_list("area", flat=True)) == sorted(
        [council.north.pk, council.south.pk]
    )
    assert tallies.get(area=council.south).inputs_hash == south.inputs_hash
    assert tallies.get(area=council.south).outcome["voters"] == south.ballots
    assert AuditEntry.objects.filter(round=council.round, action="round.counted").count() == 1
    report = assert_told_once(council, workers)
    assert sorted(report.tally_ids) == sorted(tallies.values_list("pk", flat=True))
    print(
        f"\ncount kill: {killed_at - started:.1f} s to the kill, "
        f"{finished_at - killed_at:.1f} s from the kill to the end"
    )


class WorkerKilled(Exception):
    """Stands for the process dying at that line."""


def test_a_count_redelivered_after_its_commit_still_starts_the_outcome_pipeline(
    monkeypatch: pytest.MonkeyPatch,
):
    """The one gap no row lock can hold open: the count's last transaction has committed (the
    round is in its results phase) and the worker dies before queueing the outcome pipeline.
    ``acks_late`` delivers ``tally_round`` again; the redone count must still start it."""
    council = Council(voters=5, phase="counting")

    def die(round_id: int) -> None:
        raise WorkerKilled

    monkeypatch.setattr(outcome_pipeline, "delay", die)
    with pytest.raises(WorkerKilled):
        tally_round.run(council.round.pk)
    council.round.refresh_from_db()
    assert council.round.phase == "results"
    assert not OutcomeReport.objects.filter(round=council.round).exists()

    monkeypatch.undo()
    tally_round.delay(council.round.pk)  # the redelivered message, run inline here

    assert Tally.objects.filter(round=council.round).count() == 2
    report = OutcomeReport.objects.get(round=council.round)
    assert report.is_built and report.published_at is not None
    sent = NotificationSent.objects.filter(round=council.round)
    assert sorted(sent.values_list("user_id", flat=True)) == council.recipients()

"""Shared fixtures, helpers and the rules every test runs under.

What a test can use (import the functions from ``tests.conftest``):

``clock`` (fixture)
    A controlled clock (time-machine): ``timezone.now()``, ``datetime.now()``, ``date.today()``
    and ``time.time()`` all read it, in every thread (the live server's included), and it stands
    still until the test moves it: ``clock.now()``, ``clock.today()``, ``clock.advance(minutes=2)``,
    ``clock.set(datetime)``. Use it wherever a date, an age or a time window matters, and write
    dates relative to it (``clock.today().year - 46`` for a 46-year-old), never literal years.
    It starts at ``TEST_NOW`` (``2028-02-29`` or ``2028-02-29T23:59:30+00:00``; a date alone
    means 10:00:05 UTC that day) or at the fixed ``DEFAULT_NOW``. With ``TEST_NOW`` set, every
    other test also starts at that moment (its clock ticking), so ``TEST_NOW=... make test``
    runs the whole suite on that day. ``make test-dates`` runs the tests that use ``clock``
    (marked ``clock`` automatically) and the other date-sensitive tests (``-m dates``) on the
    first, the 15th and the last day of a month and on a leap day.
    ``time.monotonic()`` is not moved (asyncio and timeouts keep working). Browser tests: the
    browser keeps real time, so never set the clock to the past there (cookies would expire).

``race(fn, threads=8, hold=None)``
    Calls ``fn`` from ``threads`` threads released at the same instant by a barrier, each on its
    own database connection, and returns what each call returned or raised (``Outcome``:
    ``.ok``, ``.value``, ``.error``). ``hold='FROM "app_table"'`` pauses each thread after its
    first query on that table, so that without the lock every thread reads the same row. It
    needs PostgreSQL and a test marked ``django_db(transaction=True)`` (the threads must see
    committed rows); it fails clearly otherwise. Every ``select_for_update`` in the code has a
    test that races it (tests/*/test_races.py): delete the lock and that test fails.

``need(condition, what)``, ``need_postgres()``, ``need_redis()``
    Skip locally, fail under ``CI=true``, when a real part is missing. ``need_redis`` and
    ``need_postgres`` check that the part actually answers, not only that a URL is set.

Markers
    ``postgres`` / ``redis``: the test needs that part; a hook checks it answers before the test
    runs (skip locally, fail under CI). ``slow``, ``e2e`` as before. Unknown markers are errors
    (``--strict-markers``).

Rules under ``CI=true``
    Any skipped test or module fails the run (a green CI means every test ran), and an empty
    ``parametrize`` set fails at collection (``empty_parameter_set_mark``).

Hypothesis
    Profiles ``ci`` (derandomised: the same examples on every run, no deadline) and ``local``
    (random examples, no deadline either: no test depends on machine speed). ``CI=true`` picks
    ``ci``; ``HYPOTHESIS_PROFILE`` overrides.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings

from tests.factories import AreaFactory, RoundFactory, UserFactory

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

hypothesis_settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
hypothesis_settings.register_profile("local", deadline=None)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if IN_CI else "local"))


def need(condition: bool, what: str) -> None:
    """Skip locally, fail in CI, when a real part the test needs is missing."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"{what} is required under CI=true but is not available")
    pytest.skip(f"{what} is not available here")


@functools.cache
def _postgres_answers() -> str:
    """'' when the configured database is PostgreSQL and answers, else why not."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    if "postgresql" not in db["ENGINE"]:
        return "the database is not PostgreSQL (set DATABASE_URL)"
    import psycopg

    try:
        psycopg.connect(
            host=db.get("HOST") or None,
            port=db.get("PORT") or None,
            user=db.get("USER") or None,
            password=db.get("PASSWORD") or None,
            dbname="postgres",
            connect_timeout=3,
        ).close()
    except psycopg.Error as exc:
        return f"PostgreSQL does not answer: {exc}"
    return ""


@functools.cache
def _redis_answers() -> str:
    """'' when REDIS_URL is set and its server answers PING, else why not."""
    url = os.environ.get("REDIS_URL", "")
    if not url:
        return "REDIS_URL is not set"
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3)
        client.ping()
        client.close()
    except redis.RedisError as exc:
        return f"Redis at {url} does not answer: {exc}"
    return ""


def need_postgres() -> None:
    """PostgreSQL is configured and answers (skip locally, fail under CI)."""
    why = _postgres_answers()
    need(not why, f"PostgreSQL ({why})")


def need_redis() -> str:
    """Redis is configured and answers (skip locally, fail under CI); its URL."""
    why = _redis_answers()
    need(not why, f"Redis ({why})")
    return os.environ["REDIS_URL"]


# --- Hooks: markers checked, skips fail in CI -----------------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    if IN_CI:
        # An empty parameter set (e.g. data files missing) must not pass as "nothing to test".
        config._inicache["empty_parameter_set_mark"] = "fail_at_collect"


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("postgres"):
        need_postgres()
    if item.get_closest_marker("redis"):
        need_redis()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"Skipped under CI=true, which must run every test: {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped:
        reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"Module skipped under CI=true, which must run every test: {reason}"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "clock" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.clock)
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("layer") == "redis":
            item.add_marker(pytest.mark.redis)


# --- The controlled clock ---------------------------------------------------------------------

DEFAULT_NOW = dt.datetime(2027, 3, 15, 10, 0, 5, tzinfo=dt.UTC)


def test_now() -> dt.datetime:
    """Where the clock starts: ``TEST_NOW`` (a date or an ISO date-time) or ``DEFAULT_NOW``."""
    raw = os.environ.get("TEST_NOW", "").strip()
    if not raw:
        return DEFAULT_NOW
    if "T" not in raw and " " not in raw:
        return dt.datetime.combine(dt.date.fromisoformat(raw), dt.time(10, 0, 5), tzinfo=dt.UTC)
    moment = dt.datetime.fromisoformat(raw)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


test_now.__test__ = False  # type: ignore[attr-defined]  # not a test, despite its name


class Clock:
    """The time the code under test sees; it moves only when the test moves it."""

    def __init__(self, traveller: Any) -> None:
        self._traveller = traveller

    def now(self) -> dt.datetime:
        from django.utils import timezone

        return timezone.now()

    def today(self) -> dt.date:
        from django.utils import timezone

        return timezone.localdate()

    def advance(self, **delta: float) -> dt.datetime:
        """Move forward by ``timedelta(**delta)``; the new time."""
        self._traveller.shift(dt.timedelta(**delta))
        return self.now()

    def set(self, moment: dt.datetime) -> dt.datetime:
        self._traveller.move_to(moment)
        return self.now()


@pytest.fixture(autouse=True)
def _whole_suite_at_test_now(request: pytest.FixtureRequest) -> Iterator[None]:
    """With ``TEST_NOW`` set, every test runs from that moment (the clock ticks on from it), so
    ``TEST_NOW=2028-02-29 make test`` runs the whole suite on a leap day. Browser tests keep
    real time when ``TEST_NOW`` is in the past: the browser would expire the session cookie.
    Subprocesses (Celery workers, the command line) are not moved."""
    if not os.environ.get("TEST_NOW", "").strip():
        yield
        return
    start = test_now()
    if request.node.get_closest_marker("e2e") and start < dt.datetime.now(dt.UTC):
        yield
        return
    import time_machine

    with time_machine.travel(start, tick=True):
        yield


@pytest.fixture
def clock() -> Iterator[Clock]:
    import time_machine

    with time_machine.travel(test_now(), tick=False) as traveller:
        yield Clock(traveller)


# --- Races on PostgreSQL ------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What one racing call did: returned ``value`` or raised ``error``."""

    value: Any = None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def race(
    fn: Callable[[], Any],
    threads: int = 8,
    *,
    hold: str | None = None,
    hold_at: int = 1,
    hold_seconds: float = 0.3,
    timeout: float = 60,
) -> list[Outcome]:
    """Call ``fn`` from ``threads`` threads released together; one ``Outcome`` per thread.

    Each thread uses its own database connection, closed afterwards. Only meaningful on
    PostgreSQL with committed data: the test must be ``django_db(transaction=True)``.

    ``hold``: a piece of SQL (e.g. ``'FROM "pb_paperballot"'``); each thread pauses
    ``hold_seconds`` after the ``hold_at``-th query containing it (the first by default). Put it
    on the read a lock guards: with the lock, the other threads wait for the row and the result
    is the same at any speed; without it, every thread reads the same stale row inside the
    pause, so deleting the lock makes the test fail every time rather than now and then.
    """
    from django.db import connection, connections

    need_postgres()
    if connection.vendor != "postgresql":
        pytest.fail("race() needs the PostgreSQL database (set DATABASE_URL)")
    if connection.in_atomic_block:
        pytest.fail("race() needs committed data: mark the test django_db(transaction=True)")
    barrier = threading.Barrier(threads, timeout=timeout)

    def attempt(_: int) -> Outcome:
        seen = 0

        def pause_after_the_guarded_read(execute: Any, sql: str, *args: Any) -> Any:
            nonlocal seen
            result = execute(sql, *args)
            if hold is not None and hold in sql:
                seen += 1
                if seen == hold_at:
                    time.sleep(hold_seconds)
            return result

        try:
            barrier.wait()
            with connections["default"].execute_wrapper(pause_after_the_guarded_read):
                return Outcome(value=fn())
        except Exception as exc:
            return Outcome(error=exc)
        finally:
            connections.close_all()

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(threads) as pool:
        outcomes = list(pool.map(attempt, range(threads), timeout=timeout))
    broken = [o.error for o in outcomes if isinstance(o.error, threading.BrokenBarrierError)]
    assert not broken, "the racing threads never all started"
    return outcomes


# --- Per-test isolation -------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _eager_celery(settings: Any) -> None:
    """Tasks run inline in tests unless a test starts a real worker."""
    from backend.celery import app

    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True


@pytest.fixture(autouse=True)
def _site_language_after_each_test() -> Any:
    """A page in Welsh activates Welsh for the thread (Django's LocaleMiddleware does not undo
    it); go back to the site's language so the next test reads English."""
    from django.utils import translation

    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings: Any) -> None:
    # PBKDF2 is deliberately slow; tests create many people and do not test the hasher.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _media_in_tmp(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _own_cache_keys(settings: Any) -> None:
    """Each test gets its own cache key prefix: nothing cached by one test (turnout, rate
    limits, presence) is seen by another, and no test needs ``cache.clear()``, which on Redis
    would flush the whole database others share (the channel layer, Celery's broker)."""
    import uuid

    caches = {name: dict(conf) for name, conf in settings.CACHES.items()}
    for conf in caches.values():
        conf["KEY_PREFIX"] = f"{conf.get('KEY_PREFIX', '')}-t{uuid.uuid4().hex[:10]}"
    settings.CACHES = caches


@pytest.fixture
def user_factory() -> type[UserFactory]:
    return UserFactory


@pytest.fixture
def area_factory() -> type[AreaFactory]:
    return AreaFactory


@pytest.fixture
def round_factory() -> type[RoundFactory]:
    return RoundFactory

"""The rules in tests/conftest.py hold: under CI=true a skip fails, an empty parameter set fails
at collection, a ``redis`` or ``postgres`` marker checks that the part answers, and the clock
fixture controls the time the code sees; docs/testing.md lists every row lock in the code with
its race test."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.utils import timezone

from tests.conftest import DEFAULT_NOW, test_now

ROOT = Path(__file__).resolve().parents[2]

PROBES = Path(__file__).parent / "probes"


def _run_probes(name: str, **env: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA", str(PROBES / name)],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    return result.stdout + result.stderr


@pytest.mark.slow
def test_under_ci_a_skip_and_a_part_that_does_not_answer_fail():
    out = _run_probes(
        "probe_rules.py", CI="true", REDIS_URL="redis://127.0.0.1:1/0", DATABASE_URL=""
    )
    assert "FAILED" in out and "test_skipped" in out, out
    assert "Skipped under CI=true" in out, out
    assert "test_needs_redis - Failed: Redis" in out and "does not answer" in out, out
    assert "test_needs_postgres - Failed: PostgreSQL" in out, out
    assert "PASSED" in out and "test_passes" in out, out


@pytest.mark.slow
def test_under_ci_an_empty_parameter_set_fails_at_collection():
    out = _run_probes("probe_empty.py", CI="true")
    assert "ERROR collecting" in out and "Empty parameter set in 'test_empty'" in out, out


@pytest.mark.slow
def test_outside_ci_the_same_probes_skip_with_a_reason():
    out = _run_probes("probe_rules.py", CI="", REDIS_URL="", DATABASE_URL="")
    assert "SKIPPED" in out and "REDIS_URL is not set" in out, out
    assert "FAILED" not in out, out


def test_the_clock_stands_still_until_the_test_moves_it(clock):
    start = timezone.now()
    assert start == test_now()
    time.sleep(0.01)
    assert timezone.now() == start and dt.date.today() == start.date()
    assert clock.advance(days=1, seconds=5) == start + dt.timedelta(days=1, seconds=5)
    assert clock.set(dt.datetime(2028, 2, 29, 23, 59, tzinfo=dt.UTC)).day == 29


def test_the_clock_starts_where_test_now_says(monkeypatch):
    monkeypatch.setenv("TEST_NOW", "2028-02-29")
    assert test_now() == dt.datetime(2028, 2, 29, 10, 0, 5, tzinfo=dt.UTC)
    monkeypatch.setenv("TEST_NOW", "2027-01-31T23:59:30+00:00")
    assert test_now() == dt.datetime(2027, 1, 31, 23, 59, 30, tzinfo=dt.UTC)
    monkeypatch.delenv("TEST_NOW")
    assert test_now() == DEFAULT_NOW


def _locks_in_code() -> set[tuple[str, str]]:
    """(file, function) of every ``select_for_update(...)`` call in the application code."""
    import ast

    found: set[tuple[str, str]] = set()
    for package in ("backend", "pb", "feedback", "deliberation"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text(), filename=str(path))
            for function in ast.walk(tree):
                if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                for node in ast.walk(function):
                    if (
                        isinstance(node, ast.Call)
                        and isinstance(node.func, ast.Attribute)
                        and node.func.attr == "select_for_update"
                    ):
                        found.add((str(path.relative_to(ROOT)), function.name))
    return found


def test_every_row_lock_is_listed_with_a_race_test_that_exists():
    """docs/testing.md's lock table names every ``select_for_update`` in the code (by file and
    function) and the race test that fails when it is deleted; a new lock without a row, a row
    for a lock that is gone, or a row naming a test that does not exist fails here. (That the
    named test really fails without the lock is checked by deleting it: see that page.)"""
    import re

    page = (ROOT / "docs" / "testing.md").read_text()
    section = page.split("## Every row lock has a race test", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| (\S+\.py) `(\w+)` \|[^|]*\| ([^|]*) \|", section, flags=re.MULTILINE)
    listed = {(file, function) for file, function, _tests in rows}
    assert listed == _locks_in_code()
    for _file, _function, tests in rows:
        ids = re.findall(r"(tests/\S+?\.py)?::(\w+)", tests)
        assert ids, tests
        module = ""
        for path, name in ids:
            module = path or module  # "::other" names another test of the same file
            assert f"def {name}(" in (ROOT / module).read_text(), f"{module}::{name}"

"""Run only by tests/foundation/test_suite_rules.py, in a pytest of its own (the name does not
match test_*.py, so the suite never collects it)."""

import pytest


def test_skipped():
    pytest.skip("nothing here")


@pytest.mark.redis
def test_needs_redis():
    pass


@pytest.mark.postgres
def test_needs_postgres():
    pass


def test_passes():
    pass

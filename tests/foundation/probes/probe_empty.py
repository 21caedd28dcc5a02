"""Run only by tests/foundation/test_suite_rules.py (see probe_rules.py)."""

import pytest


@pytest.mark.parametrize("x", [])
def test_empty(x):
    pass

"""The voting world of tests/voting, for the abuse-limit tests of issue 13."""

from __future__ import annotations

from typing import Any

import pytest

from tests.voting.conftest import VotingWorld


@pytest.fixture
def vw(db: Any, clock: Any) -> VotingWorld:
    return VotingWorld()

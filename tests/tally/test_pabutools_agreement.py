"""Our greedy and MES fund exactly what pabutools 1.2.3 funds, on every shared pabulib file.

pabutools is run here, in the test (nothing cached in the repo); see pabutools_reference.py for
the satisfaction classes that realise the rules of issue 6.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pb.tally import tally
from pb.tally.pabulib import load
from tests.tally.pabutools_reference import reference_winners

DATA = Path("/work/shared/data/pabulib")
FILES = sorted(DATA.glob("*.pb"))
# pabutools takes more than a few seconds on these (measured: 2 s to 22 s per rule).
SLOW_BYTES = 400_000


def _cases() -> list[object]:
    cases = []
    for path in FILES:
        marks = [pytest.mark.slow] if path.stat().st_size > SLOW_BYTES else []
        for rule in ("greedy", "mes"):
            cases.append(pytest.param(path, rule, marks=marks, id=f"{path.stem}-{rule}"))
    return cases


def test_the_shared_data_folder_has_the_files() -> None:
    assert len(FILES) >= 31


@pytest.mark.parametrize(("path", "rule"), _cases())
def test_winners_are_identical_to_pabutools(path: Path, rule: str) -> None:
    ours = sorted(tally(load(path), rule).winners)
    assert ours == reference_winners(str(path), rule)

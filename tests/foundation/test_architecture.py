"""The apps depend one way (docs/architecture.md); import-linter's contracts hold the line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def test_import_contracts_are_kept():
    result = subprocess.run(
        [str(BIN / "lint-imports"), "--no-cache", "--no-logo"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    # Every contract ran: a contract dropped from pyproject.toml fails here, not silently.
    for name in (
        "Apps depend one way: backend.accounts <- pb <- deliberation <- feedback KEPT",
        "The pure cores import no Django and nothing else of ours KEPT",
        "The pure cores are independent of each other KEPT",
        "The count's result and unspent money: the tally engine only, no Django KEPT",
        "No circle between the modules of a package KEPT",
    ):
        assert name in result.stdout, result.stdout[-6000:]

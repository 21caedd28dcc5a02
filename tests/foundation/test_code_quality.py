"""Lint, types and migrations are part of the suite, so CI holds the line on them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_ruff_finds_nothing():
    result = _run(str(BIN / "ruff"), "check", ".")
    assert result.returncode == 0, result.stdout[-4000:]


def test_code_is_formatted_by_ruff():
    result = _run(str(BIN / "ruff"), "format", "--check", ".")
    assert result.returncode == 0, result.stdout[-4000:]


@pytest.mark.slow
def test_mypy_is_clean_on_every_package():
    # The same packages as ``make typecheck``; strict where pyproject says so.
    result = _run(str(BIN / "mypy"), "backend", "pb", "feedback", "deliberation")
    assert result.returncode == 0, result.stdout[-4000:]


def test_models_and_migrations_agree():
    result = _run(sys.executable, "manage.py", "makemigrations", "--check", "--dry-run")
    assert result.returncode == 0, result.stdout[-4000:]

"""Modules that DRF's settings name must import in any order.

DRF reads ``DEFAULT_PARSER_CLASSES`` while ``rest_framework.views`` defines ``APIView``; a parser
kept in a module that itself imports ``rest_framework.views`` made the first import of that
module fail (a test file run alone, a management command, a worker). Each case runs in a fresh
interpreter, where nothing else has imported DRF yet.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "first", ["backend.api", "backend.views", "backend.parsers", "pb.voting.api", "pb.api"]
)
def test_a_module_imported_first_after_setup_loads(first: str) -> None:
    code = f"import django; django.setup(); import {first}; print('ok')"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "backend.settings"}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith("ok")

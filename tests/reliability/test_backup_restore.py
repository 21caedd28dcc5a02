"""docs/operations.md's backup and restore, done: pg_dump the database, restore the dump into
a new database, and recount every round there to the same tally hashes and winners."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.db import connection

from pb.counting.models import Tally
from pb.counting.services import round_count
from tests.conftest import need
from tests.counting.conftest import CountWorld
from tests.reliability.test_worker_kill import _test_database_url

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


def _pg(*argv: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{argv[0]} failed: {done.stderr}"
    return done


def test_a_restored_dump_recounts_every_round_to_the_same_tallies(tmp_path: Path):
    need(connection.vendor == "postgresql", "PostgreSQL (set DATABASE_URL)")
    cw = CountWorld()
    for voters in ([cw.bench], [cw.bench, cw.lights], [cw.trees], [cw.bench, cw.trees]):
        cw.cast(cw.north, *voters)
    cw.cast(cw.south, cw.mural)
    cw.set_phase("counting")
    round_count(round=cw.round)
    stored = sorted(Tally.objects.values_list("inputs_hash", flat=True))
    assert len(stored) == 2

    source = _test_database_url()
    restored_name = f"cp_restore_{uuid.uuid4().hex[:8]}"
    restored = source.rsplit("/", 1)[0] + "/" + restored_name
    dump = tmp_path / "commonpurse.dump"
    _pg("pg_dump", "--format=custom", "--no-owner", f"--file={dump}", f"--dbname={source}")
    _pg("createdb", f"--maintenance-db={source}", restored_name)
    try:
        _pg("pg_restore", "--no-owner", "--exit-on-error", f"--dbname={restored}", str(dump))
        env = {**os.environ, "DATABASE_URL": restored}

        def verify() -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, "manage.py", "verify_tallies"],
                cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
            )  # fmt: skip

        ok = verify()
        assert ok.returncode == 0, ok.stdout + ok.stderr
        assert "2 tallies recounted, 0 differ." in ok.stdout
        for inputs_hash in stored:
            assert inputs_hash in ok.stdout

        # A ballot changed after the count (a damaged or tampered restore) is caught.
        tamper = (
            "UPDATE pb_ballot SET selections = jsonb_build_object(:'lights'::text, 1) "
            "WHERE id = (SELECT id FROM pb_ballot WHERE area_id = :north ORDER BY id LIMIT 1);"
        )
        _pg(
            "psql", f"--dbname={restored}", "-v", "ON_ERROR_STOP=1",
            "-v", f"lights={cw.lights.pk}", "-v", f"north={cw.north.pk}", stdin=tamper,
        )  # fmt: skip
        bad = verify()
        assert bad.returncode == 1
        assert "DIFFERS city-2027 / North: inputs hash" in bad.stdout
    finally:
        _pg("dropdb", f"--maintenance-db={source}", "--force", restored_name)

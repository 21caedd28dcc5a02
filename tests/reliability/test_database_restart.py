"""PostgreSQL restarted in the middle of a flood of ballots (issue 17).

A private PostgreSQL (tests/reliability/private.py) with the test database's schema; the
production HTTP server (gunicorn gthread on ``backend.wsgi``) against it; voters posting ballots
with one-time codes from several threads. The database is stopped mid-flood and started again.

During the outage every answer is 503 with ``Retry-After`` and the JSON error body, never a 500;
voters retry the same code. Afterwards the same server processes (no restart) cast again, and
every code that got a 201 (or a 409 on a retry after its first attempt had in fact committed) is
stored exactly once.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from tests.conftest import need
from tests.reliability.private import PrivatePostgres, free_port, wait_for
from tests.reliability.test_worker_kill import _test_database_url

pytestmark = [pytest.mark.django_db, pytest.mark.postgres, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
CODES = 600
VOTERS = 6

SETUP = """
import json, django
django.setup()
from pb.models import Area, Proposal, Round, RoundArea, VoterCode
from pb.voting.services.codes import voter_code_hash, voter_codes_issue
round_ = Round.objects.create(name="Vote", slug="vote", budget=40_000_000, phase="voting",
                              voter_codes_enabled=True, anonymous_codes=True)
area = Area.objects.create(name="Ward", slug="ward", population=50_000)
RoundArea.objects.create(round=round_, area=area, allocation=10_000_000)
projects = [Proposal.objects.create(round=round_, area=area, title=f"Project {j}",
            description="x", estimated_cost=1_000_000, status="feasible").pk for j in range(4)]
codes = voter_codes_issue(actor=None, round=round_, count=%d, area=area)
ids = dict(VoterCode.objects.values_list("code_hash", "pk"))
print(json.dumps({"round": round_.pk, "projects": projects,
                  "codes": [[c, ids[voter_code_hash(c)]] for c in codes]}))
"""


class Flood:
    """Voters casting from ``VOTERS`` threads; a 503 is retried with the same code."""

    def __init__(self, port: int, round_id: int, projects: list[int], codes: list[str]) -> None:
        self.port = port
        self.path = f"/api/v1/rounds/{round_id}/ballots/"
        self.projects = projects
        self.codes = iter(codes)
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.answers: list[tuple[float, int, dict[str, Any], str | None]] = []
        self.final: dict[str, int] = {}
        self.threads = [threading.Thread(target=self._voter, daemon=True) for _ in range(VOTERS)]

    def start(self) -> Flood:
        for t in self.threads:
            t.start()
        return self

    def count(self, status: int, since: float = 0.0) -> int:
        with self.lock:
            return sum(1 for at, s, _b, _r in self.answers if s == status and at >= since)

    def _post(
        self, conn: http.client.HTTPConnection, code: str
    ) -> tuple[int, dict[str, Any], str | None]:
        body = json.dumps({"voter_code": code, "selections": self.projects[:2]})
        conn.request("POST", self.path, body, {"Content-Type": "application/json"})
        response = conn.getresponse()
        raw = response.read()
        try:
            data = json.loads(raw)
        except ValueError:
            data = {"not_json": raw[:200].decode(errors="replace")}
        return response.status, data, response.getheader("Retry-After")

    def _voter(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        while not self.stop.is_set():
            with self.lock:
                code = next(self.codes, None)
            if code is None:
                return
            while not self.stop.is_set():
                try:
                    status, data, retry_after = self._post(conn, code)
                except (OSError, http.client.HTTPException):
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                    status, data, retry_after = -1, {}, None
                with self.lock:
                    self.answers.append((time.monotonic(), status, data, retry_after))
                if status in (201, 409):
                    with self.lock:
                        self.final[code] = status
                    break
                if status not in (503, -1):  # refused: retrying the same ballot cannot help
                    break
                time.sleep(0.1)  # a real client waits Retry-After; the test need not
        conn.close()


def test_a_database_restart_mid_vote_answers_503_then_recovers_and_loses_nothing(tmp_path):
    need(connection.vendor == "postgresql", "PostgreSQL (set DATABASE_URL)")
    redis_url = os.environ.get("REDIS_URL", "")
    pg = PrivatePostgres().init()
    server = None
    try:
        pg.start()
        url = pg.createdb("vote")
        schema = subprocess.run(
            ["pg_dump", "--schema-only", "--no-owner", f"--dbname={_test_database_url()}"],
            check=True, capture_output=True, text=True, timeout=120,
        ).stdout  # fmt: skip
        subprocess.run(
            ["psql", "-q", "-v", "ON_ERROR_STOP=1", f"--dbname={url}"],
            input=schema, check=True, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "DEBUG": "false",
            "SECRET_KEY": "restart-test-" + uuid.uuid4().hex,
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "false",
            "DATABASE_POOL_MIN": "1",
            "DATABASE_POOL_MAX": "4",
            "DATABASE_POOL_TIMEOUT": "2",
            "CACHE_PREFIX": "restart-" + uuid.uuid4().hex[:8],
            "REDIS_URL": redis_url,
            # All voters share 127.0.0.1; a retry of a ballot that had in fact committed is a
            # refused code, which must not add up to the throttle's 429 in this test.
            "VOTER_CODE_FAILURES": "1000000/hour",
        }
        made = subprocess.run(
            [sys.executable, "-c", SETUP % CODES],
            cwd=ROOT, env={**env, "DJANGO_SETTINGS_MODULE": "backend.settings"},
            check=True, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        setup = json.loads(made.stdout.strip().splitlines()[-1])
        code_ids = dict(setup["codes"])

        port = free_port()
        log = (tmp_path / "gunicorn.log").open("wb")
        server = subprocess.Popen(
            [
                sys.executable, "-m", "gunicorn", "backend.wsgi:application",
                "--bind", f"127.0.0.1:{port}", "--worker-class", "gthread",
                "--workers", "2", "--threads", "4",
            ],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        wait_for(lambda: _answers(port), timeout=60, what="gunicorn to listen")
        workers_before = _children(server.pid)

        flood = Flood(port, setup["round"], setup["projects"], list(code_ids)).start()
        wait_for(lambda: flood.count(201) >= 30, timeout=120, what="ballots before the outage")

        pg.stop("fast")
        down_at = time.monotonic()
        wait_for(lambda: flood.count(503, down_at) >= 10, timeout=120, what="503s in the outage")
        pg.start()
        up_at = time.monotonic()
        wait_for(lambda: flood.count(201, up_at) >= 30, timeout=120, what="ballots after it")
        flood.stop.set()
        for t in flood.threads:
            t.join(timeout=60)

        statuses = Counter(s for _at, s, _b, _r in flood.answers)
        assert set(statuses) <= {201, 409, 503}, (statuses, _tail(tmp_path / "gunicorn.log"))
        for _at, status, body, retry_after in flood.answers:
            if status == 503:
                assert retry_after == "60"
                assert body["error"]["code"] == "unavailable", body
        assert _children(server.pid) == workers_before  # recovered without a restart

        # Every code answered 201 (or 409 after a retry) is stored exactly once; no other is.
        import psycopg

        with psycopg.connect(url) as conn:
            rows = conn.execute(
                "SELECT voter_code_id, count(*) FROM pb_participation GROUP BY voter_code_id"
            ).fetchall()
            # A cast's ballot waits in the pending table until a batch is sealed (issue 12),
            # so a stored ballot is one in either table.
            ballots = conn.execute(
                "SELECT (SELECT count(*) FROM pb_ballot) + (SELECT count(*) FROM pb_pendingballot)"
            ).fetchone()
        stored = dict(rows)
        settled = {code_ids[c] for c in flood.final}
        assert set(stored.values()) == {1}
        assert set(stored) == settled
        assert {code_ids[c] for c, s in flood.final.items() if s == 201} <= set(stored)
        assert ballots is not None and ballots[0] == len(stored)
        print(f"\nanswers {dict(statuses)}; stored {len(stored)}")
    finally:
        if server is not None and server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        pg.remove()


def _answers(port: int) -> bool:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", "/healthz")
        ok = conn.getresponse().status == 200
        conn.close()
        return ok
    except OSError:
        return False


def _children(pid: int) -> set[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return {int(p) for p in out.stdout.split()}


def _tail(path: Path) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-60:])

"""PostgreSQL restarted in the middle of a flood of ballots (issue 17).

A private PostgreSQL (tests/reliability/private.py) with the test database's schema; the
production HTTP server (gunicorn gthread on ``backend.wsgi``) against it; voters posting ballots
with one-time codes from several threads. The database is stopped mid-flood and started again.
A live room is open on the production WebSocket server (uvicorn on ``backend.asgi``) all the
while: a facilitator keeps setting its timer, some readers stay connected through the outage
and others reconnect in the middle of it, each joining with the last ``seq`` it holds.

During the outage every answer is 503 with ``Retry-After`` and the JSON error body, never a 500;
voters retry the same code. Afterwards the same server processes (no restart) cast again, and
every code that got a 201 (or a 409 on a retry after its first attempt had in fact committed) is
stored exactly once. In the room, a frame that cannot reach the database is answered with an
``error`` frame (``unavailable``) and the connection stays open; afterwards every reader holds
every event of the room's log exactly once, in order, including those logged before, around
and after the outage.
"""

from __future__ import annotations

import asyncio
import contextlib
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

from backend.health import CLOSE_TRY_AGAIN_LATER
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
from pb.areas.models import Area
from pb.proposals.models import Proposal
from pb.rounds.models import Round, RoundArea
from pb.voting.models import VoterCode
from pb.voting.services.codes import voter_code_hash, voter_codes_issue
round_ = Round.objects.create(name="Vote", slug="vote", budget=40_000_000, phase="voting",
                              voter_codes_enabled=True, anonymous_codes=True)
area = Area.objects.create(name="Ward", slug="ward", population=50_000)
RoundArea.objects.create(round=round_, area=area, allocation=10_000_000)
projects = [Proposal.objects.create(round=round_, area=area, title=f"Project {j}",
            description="x", estimated_cost=1_000_000, status="feasible").pk for j in range(4)]
codes = voter_codes_issue(actor=None, round=round_, count=%d, area=area)
ids = dict(VoterCode.objects.values_list("code_hash", "pk"))
from django.contrib.sessions.backends.db import SessionStore
from django.utils import timezone
from backend.accounts.models import Role, User
from deliberation import services as rooms
talk = Round.objects.create(name="Talk", slug="talk", budget=1, phase="deliberation")
runner = User.objects.create_user(email="fac@restart.invalid", role=Role.FACILITATOR)
room = rooms.room_create(actor=runner, round=talk, title="Room", starts_at=timezone.now())
rooms.room_open(room=room, actor=runner)
session = SessionStore()
session["_auth_user_id"] = str(runner.pk)
session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
session["_auth_user_hash"] = runner.get_session_auth_hash()
session.create()
print(json.dumps({"round": round_.pk, "projects": projects,
                  "codes": [[c, ids[voter_code_hash(c)]] for c in codes],
                  "room": room.pk, "facilitator": session.session_key}))
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


#: The first half stay connected through the outage; the rest reconnect during it, the last
#: of them signed in (its handshake reads the session from the database).
READERS = 4


class RoomWatch:
    """A live room through the restart, on its own event loop in a thread.

    Readers join with ``last_seq`` 0 and keep every event; one whose connection drops, or that
    is told to ``bounce``, reconnects and joins with the last ``seq`` it holds (retrying a join
    answered ``unavailable``). A facilitator sets the room's timer four times a second,
    reconnecting likewise. Error frames, close codes and refused handshakes are counted."""

    def __init__(self, port: int, room: int, session_key: str) -> None:
        self.url = f"ws://127.0.0.1:{port}/ws/rooms/{room}/"
        self.origin = f"http://127.0.0.1:{port}"
        self.cookie = f"sessionid={session_key}"
        self.events: list[list[dict[str, Any]]] = [[] for _ in range(READERS)]
        self.joins: list[list[int]] = [[] for _ in range(READERS)]  # the last_seq of each join
        self.errors: Counter[str] = Counter()
        self.closes: Counter[int | None] = Counter()
        self.failures: Counter[str] = Counter()  # why a connection ended, on the client's side
        self.timers = 0
        self.stop = threading.Event()
        self.quiet = threading.Event()  # the facilitator stops setting the timer
        self.thread_quiet = threading.Event()  # ... and has stopped
        self.bounce = threading.Event()  # the second half of the readers reconnect
        self.thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    def start(self) -> RoomWatch:
        self.thread.start()
        return self

    def failed(self, exc: Exception) -> None:
        """Count why a connection ended or was refused (a refused handshake by its status)."""
        response = getattr(exc, "response", None)
        status = getattr(response, "status_code", None)
        self.failures[f"{type(exc).__name__}{f' {status}' if status else ''}"] += 1

    def last(self, i: int) -> int:
        return self.events[i][-1]["seq"] if self.events[i] else 0

    async def _main(self) -> None:
        await asyncio.gather(*(self._reader(i) for i in range(READERS)), self._facilitator())

    async def _connect(self, cookie: str = "") -> Any:
        from websockets.asyncio.client import connect

        headers = {"Cookie": cookie} if cookie else {}
        return await connect(
            self.url, origin=self.origin, additional_headers=headers, open_timeout=10
        )  # type: ignore[arg-type]

    async def _reader(self, i: int) -> None:
        bounced = False
        while not self.stop.is_set():
            ws = None
            try:
                ws = await self._connect(self.cookie if i == READERS - 1 else "")
                self.joins[i].append(self.last(i))
                await ws.send(json.dumps({"type": "join", "last_seq": self.last(i)}))
                while not self.stop.is_set():
                    if i >= READERS // 2 and self.bounce.is_set() and not bounced:
                        bounced = True
                        break
                    try:
                        text = await asyncio.wait_for(ws.recv(), timeout=0.2)
                    except TimeoutError:
                        continue
                    frame = json.loads(text)
                    if frame["type"] == "event":
                        self.events[i].append(frame)
                    elif frame["type"] == "batch":
                        self.events[i].extend(frame["events"])
                    elif frame["type"] == "error":
                        self.errors[f"reader:{frame['code']}"] += 1
                        await asyncio.sleep(0.3)  # the join was refused: ask again
                        self.joins[i].append(self.last(i))
                        await ws.send(json.dumps({"type": "join", "last_seq": self.last(i)}))
            except Exception as exc:  # the connection dropped or could not be made: reconnect
                self.failed(exc)
            finally:
                if ws is not None:
                    self.closes[ws.close_code] += 1
                    with contextlib.suppress(Exception):
                        await ws.close()
            await asyncio.sleep(0.2)

    async def _facilitator(self) -> None:
        try:
            await self._run_room()
        finally:
            self.thread_quiet.set()

    async def _run_room(self) -> None:
        while not self.stop.is_set() and not self.quiet.is_set():
            ws = None
            try:
                ws = await self._connect(self.cookie)
                await ws.send(json.dumps({"type": "join", "last_seq": MAX_SEQ}))
                while not self.stop.is_set() and not self.quiet.is_set():
                    # One frame at a time, as a person at a screen: the next once this one is
                    # answered (its event, or an error), so a server slowed by the outage
                    # never has a pile of frames to take in at once (its frame rate limit
                    # would refuse them).
                    self.timers += 1
                    await ws.send(json.dumps({"type": "timer", "seconds": self.timers}))
                    await self._answered(ws, self.timers)
                    await asyncio.sleep(0.25)
            except Exception as exc:
                self.failed(exc)
            finally:
                if ws is not None:
                    self.closes[ws.close_code] += 1
                    with contextlib.suppress(Exception):
                        await ws.close()
            await asyncio.sleep(0.2)

    async def _answered(self, ws: Any, seconds: int) -> None:
        """Read until the timer set to ``seconds`` is heard, or an error answers it."""
        while True:
            frame = json.loads(await asyncio.wait_for(ws.recv(), timeout=30))
            if frame["type"] == "error":
                self.errors[f"facilitator:{frame['code']}"] += 1
                return
            events = frame["events"] if frame["type"] == "batch" else [frame]
            if any(e.get("data", {}).get("seconds") == seconds for e in events):
                return


MAX_SEQ = 2**53 - 1


def test_a_database_restart_mid_vote_answers_503_then_recovers_and_loses_nothing(tmp_path):
    need(connection.vendor == "postgresql", "PostgreSQL (set DATABASE_URL)")
    redis_url = os.environ.get("REDIS_URL", "")
    pg = PrivatePostgres().init()
    server = asgi = None
    watch: RoomWatch | None = None
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
            "CHANNELS_PREFIX": "restart-" + uuid.uuid4().hex[:8],
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
        ws_port = free_port()
        asgi = subprocess.Popen(
            [
                sys.executable, "-m", "uvicorn", "backend.asgi:application", "--host",
                "127.0.0.1", "--port", str(ws_port), "--ws-max-size", "65536", "--no-access-log",
            ],
            cwd=ROOT, env=env, stdout=(tmp_path / "uvicorn.log").open("wb"),
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        wait_for(lambda: _answers(port), timeout=60, what="gunicorn to listen")
        wait_for(lambda: _answers(ws_port), timeout=60, what="uvicorn to listen")
        workers_before = _children(server.pid)

        watch = RoomWatch(ws_port, setup["room"], setup["facilitator"]).start()
        wait_for(
            lambda: all(watch.last(i) >= 5 for i in range(READERS)),
            timeout=60, what="the room's first events",
        )  # fmt: skip
        flood = Flood(port, setup["round"], setup["projects"], list(code_ids)).start()
        wait_for(lambda: flood.count(201) >= 30, timeout=120, what="ballots before the outage")

        pg.stop("fast")
        down_at = time.monotonic()
        heard_before = min(watch.last(i) for i in range(READERS))
        watch.bounce.set()
        wait_for(lambda: flood.count(503, down_at) >= 10, timeout=120, what="503s in the outage")
        wait_for(
            lambda: watch.errors["facilitator:unavailable"] >= 3
            and watch.closes[CLOSE_TRY_AGAIN_LATER] >= 4,
            timeout=60, what="the room's frames and connections to be refused in the outage",
        )  # fmt: skip
        pg.start()
        up_at = time.monotonic()
        wait_for(lambda: flood.count(201, up_at) >= 30, timeout=120, what="ballots after it")
        with flood.lock:
            ballots_back = min(at for at, s, _b, _r in flood.answers if s == 201 and at >= up_at)
        ballots_back -= up_at
        import psycopg

        def room_log() -> int:
            with psycopg.connect(url) as conn:
                row = conn.execute(
                    "SELECT last_seq FROM deliberation_room WHERE id = %s", [setup["room"]]
                ).fetchone()
            return int(row[0]) if row else 0

        wait_for(lambda: room_log() >= heard_before + 8, timeout=120, what="the room after it")
        room_back = time.monotonic() - up_at
        flood.stop.set()
        watch.quiet.set()
        watch.thread_quiet.wait(timeout=30)  # the facilitator has sent its last frame
        settled = [room_log()]

        def log_settled() -> bool:  # what the server had queued is written: no change in 1 s
            time.sleep(1)
            settled.append(room_log())
            return settled[-1] == settled[-2]

        wait_for(log_settled, timeout=60, what="the room's log to settle")
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

        # Every reader holds the room's whole log, once each and in order: what was logged
        # before the outage, around it and after, whether it stayed or reconnected.
        with psycopg.connect(url) as conn:
            logged = conn.execute(
                "SELECT seq, type FROM deliberation_roomevent WHERE room_id = %s ORDER BY seq",
                [setup["room"]],
            ).fetchall()
        final = logged[-1][0]
        assert [seq for seq, _type in logged] == list(range(1, final + 1))
        wait_for(
            lambda: all(watch.last(i) >= final for i in range(READERS)),
            timeout=60, what="every reader to hold the whole log",
        )  # fmt: skip
        time.sleep(0.5)  # anything sent twice would arrive now
        watch.stop.set()
        watch.thread.join(timeout=30)
        seen = (dict(watch.errors), dict(watch.closes), dict(watch.failures), watch.timers)
        assert heard_before < final, seen  # events were logged after the outage began
        for i in range(READERS):
            assert [(e["seq"], e["event"]) for e in watch.events[i]] == logged, i
        for i in range(READERS // 2, READERS):
            # Reconnected in the outage, joining (and asking again) with the last seq it held.
            assert len(watch.joins[i]) >= 2 and watch.joins[i][0] == 0, watch.joins[i]
            assert all(seq > 0 for seq in watch.joins[i][1:]), watch.joins[i]
        # Told to try again: a frame with an error frame, a connection (signed in, whose
        # handshake reads the session, or not) with close code 1013; never a crash (1011)
        # and never a refused handshake (a 500).
        assert set(watch.errors) <= {"facilitator:unavailable", "reader:unavailable"}, watch.errors
        assert set(watch.closes) <= {None, 1000, CLOSE_TRY_AGAIN_LATER}, watch.closes
        assert not any("InvalidStatus" in failure for failure in watch.failures), watch.failures
        assert "Traceback" not in (tmp_path / "uvicorn.log").read_text(), _tail(
            tmp_path / "uvicorn.log"
        )
        print(
            f"room: {final} events, back {room_back:.1f} s after the restart; "
            f"errors {dict(watch.errors)}; closes {dict(watch.closes)}; "
            f"{dict(watch.failures)}"
        )
        print(
            f"\nanswers {dict(statuses)}; stored {len(stored)}; PostgreSQL down "
            f"{up_at - down_at:.1f} s; the first ballot {ballots_back:.1f} s after it was back "
            f"({flood.count(503, up_at)} answers 503 after it was back)"
        )
    finally:
        if watch is not None:
            watch.stop.set()
            watch.thread.join(timeout=30)
        for proc in (server, asgi):
            if proc is not None and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=30)
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

"""Two of every process behind a real nginx behave as one (issue 17, part 3).

Two gunicorn servers (``backend.wsgi``), two uvicorn servers (``backend.asgi``), two Celery
workers and one beat, as ``make stack WEB_SERVERS=2 WS_SERVERS=2 WORKERS=2`` starts them, behind
Debian's nginx running the proxy configuration of ``docker-compose.yml`` (its two upstreams each
given both servers). Everything is the test's own: a fresh PostgreSQL database with the test
database's schema, two private Redis servers for the cache and the rooms (the channel layer
sharded over both, ``CHANNELS_REDIS_URLS``), and a private append-only Redis for Celery's broker
(tests/reliability/private.py), so parallel test workers never meet.

Through nginx, or straight at both servers at once:

- a flood of ballots through nginx: every answer 201, both web servers used, each ballot
  stored once;
- a deliberation room whose readers nginx spreads over both uvicorn servers while people speak
  on both: every reader gets every event of the room's log exactly once, in order, and the
  room's group lives on one of the two Redis shards;
- a count started from both web servers at the same instant (the API's "close voting", then
  the manager's "count now" page) while a worker counts: one tally per area, one "counted"
  record.

The figures it prints are the ones in docs/scaling.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import os
import re
import shutil
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
from channels_redis.utils import _consistent_hash
from django.db import connection

from deliberation.services import group_name
from pb.models import AuditAction
from tests.conftest import need
from tests.reliability.private import PrivateRedis, free_port, wait_for
from tests.reliability.test_database_restart import Flood, _answers
from tests.reliability.test_worker_kill import _test_database_url

pytestmark = [pytest.mark.django_db, pytest.mark.postgres, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
NGINX = "/usr/sbin/nginx"
CODES_PER_AREA = 150
READERS = 20
SPEAKERS = 8
SAYS_EACH = 4  # under the 10-a-minute limit per person
TIMERS_EACH = 10  # from each of the two facilitator sockets
#: The room's log at the end: "opened", every contribution and every timer.
ROOM_EVENTS = 1 + SPEAKERS * SAYS_EACH + 2 * TIMERS_EACH

SETUP = """
import json, uuid, django
django.setup()
from django.contrib.sessions.backends.db import SessionStore
from django.utils import timezone
from rest_framework.authtoken.models import Token
from backend.accounts.models import Profile, Role, User
from deliberation import services as rooms
from pb.areas.models import Area
from pb.proposals.models import Proposal
from pb.rounds.models import Round, RoundArea
from pb.voting.models import VoterCode
from pb.voting.services.codes import voter_code_hash, voter_codes_issue

def session(user):
    s = SessionStore()
    s["_auth_user_id"] = str(user.pk)
    s["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    s["_auth_user_hash"] = user.get_session_auth_hash()
    s.create()
    return s.session_key

admin = User.objects.create_user(email="admin@stack.invalid", role=Role.ADMIN)
vote = Round.objects.create(name="Vote", slug="vote", budget=40_000_000, phase="voting",
                            voter_codes_enabled=True, anonymous_codes=True)
codes, projects = [], {}
for name in ("North", "South"):
    area = Area.objects.create(name=name, slug=name.lower(), population=50_000)
    RoundArea.objects.create(round=vote, area=area, allocation=10_000_000)
    projects[name] = [Proposal.objects.create(round=vote, area=area, title=f"{name} {j}",
                      description="x", estimated_cost=3_000_000, status="feasible").pk
                      for j in range(4)]
    ids = dict(VoterCode.objects.values_list("code_hash", "pk"))
    issued = voter_codes_issue(actor=None, round=vote, count=%(codes)d, area=area)
    ids = dict(VoterCode.objects.values_list("code_hash", "pk"))
    codes += [[c, ids[voter_code_hash(c)], name] for c in issued]

talk = Round.objects.create(name="Talk", slug="talk", budget=1, phase="deliberation")
facilitator = User.objects.create_user(email="fac@stack.invalid", role=Role.FACILITATOR)
room = rooms.room_create(actor=facilitator, round=talk, title="Room", starts_at=timezone.now())
rooms.room_open(room=room, actor=facilitator)
speakers = []
for i in range(%(speakers)d):
    u = User.objects.create_user(email=f"s{i}@stack.invalid", display_name=f"Speaker {i}")
    Profile.objects.get_or_create(user=u)
    speakers.append(session(u))
print(json.dumps({
    "round": vote.pk, "slug": vote.slug, "projects": projects, "codes": codes,
    "token": Token.objects.create(user=admin).key, "admin": session(admin),
    "room": room.pk, "speakers": speakers, "facilitator": session(facilitator),
}))
"""


# --- The processes ----------------------------------------------------------------------------


class Stack:
    """Every process the test starts, each the leader of its own process group, with its log."""

    def __init__(self, logs: Path, env: dict[str, str]) -> None:
        self.logs = logs
        self.logs.mkdir(parents=True, exist_ok=True)
        self.env = env
        self.procs: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        """Start ``argv``; its PostgreSQL sessions are named after it (``PGAPPNAME``)."""
        with (self.logs / f"{name}.log").open("wb") as out:
            proc = subprocess.Popen(
                argv, cwd=ROOT, env={**self.env, "PGAPPNAME": f"stack-{name}"}, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        self.procs.append((name, proc))
        return proc

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")

    def check_alive(self) -> None:
        for name, proc in self.procs:
            if proc.poll() is not None:
                raise AssertionError(f"{name} exited by itself:\n{self.tails()}")

    def tails(self) -> str:
        return "\n".join(
            f"--- {name} ---\n" + "\n".join(self.log(name).splitlines()[-30:])
            for name, _proc in self.procs
        )

    def stop(self) -> None:
        for _name, proc in self.procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        for _name, proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


def nginx_conf(run: Path, port: int, web: list[int], ws: list[int]) -> str:
    """docker-compose.yml's proxy configuration, with both servers in each upstream."""
    import yaml

    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    server = compose["configs"]["proxy_conf"]["content"].replace("$$", "$")
    for old, new in (
        ("server http:8000;", " ".join(f"server 127.0.0.1:{p};" for p in web)),
        ("server web:8001;", " ".join(f"server 127.0.0.1:{p};" for p in ws)),
        ("listen 80;", f"listen 127.0.0.1:{port};"),
    ):
        assert server.count(old) == 1, f"docker-compose.yml's proxy no longer has {old!r}"
        server = server.replace(old, new)
    temp = " ".join(
        f"{kind}_temp_path {run / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""
{"user root root;" if os.geteuid() == 0 else ""}
worker_processes 1;
pid {run / "nginx.pid"};
error_log {run / "error.log"} warn;
events {{ worker_connections 1024; }}
http {{
  {temp}
  log_format routed '$request_method $request_uri $status $upstream_addr';
  access_log {run / "access.log"} routed;
{server}
}}
"""


def upstreams(run: Path, path: str) -> dict[str, Counter[str]]:
    """What nginx's access log says each request to ``path...`` was answered by."""
    found: dict[str, Counter[str]] = {}
    for line in (run / "access.log").read_text().splitlines():
        _method, uri, status, upstream = line.split(" ", 3)
        if uri.startswith(path):
            found.setdefault(upstream, Counter())[status] += 1
    return found


def sql(url: str, query: str, *args: Any) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(url) as conn:
        return list(conn.execute(query, args).fetchall())


# --- The room -----------------------------------------------------------------------------------


async def _frames(ws: Any, into: list[dict[str, Any]], errors: list[dict[str, Any]]) -> None:
    """Read a socket until it closes: its events (a batch as its events) into ``into``."""
    with contextlib.suppress(Exception):
        async for text in ws:
            frame = json.loads(text)
            if frame["type"] == "event":
                into.append(frame)
            elif frame["type"] == "batch":
                into.extend(frame["events"])
            elif frame["type"] == "error":
                errors.append(frame)


async def _open(url: str, origin: str, cookie: str = "", last_seq: int = 0) -> Any:
    from websockets.asyncio.client import connect

    headers = {"Cookie": cookie} if cookie else {}
    ws = await connect(url, origin=origin, additional_headers=headers)  # type: ignore[arg-type]
    await ws.send(json.dumps({"type": "join", "last_seq": last_seq}))
    return ws


async def room_evening(
    proxy: int, ws_ports: list[int], setup: dict[str, Any], shards: list[PrivateRedis]
) -> dict[str, Any]:
    """Readers through nginx; speakers and the facilitator straight on both uvicorn servers,
    all speaking at once. Returns each reader's events, every error frame and which channel
    layer shards carry the room's group."""
    path = f"/ws/rooms/{setup['room']}/"
    proxy_origin = f"http://127.0.0.1:{proxy}"
    errors: list[dict[str, Any]] = []
    readers: list[list[dict[str, Any]]] = [[] for _ in range(READERS)]
    sockets = []
    for i in range(READERS):
        ws = await _open(f"ws://127.0.0.1:{proxy}{path}?reader={i}", proxy_origin)
        sockets.append((ws, asyncio.create_task(_frames(ws, readers[i], errors))))

    def direct(n: int) -> tuple[str, str]:
        port = ws_ports[n % len(ws_ports)]
        return f"ws://127.0.0.1:{port}{path}", f"http://127.0.0.1:{port}"

    # Already in the room: they join at the end of the log and hear only what follows.
    talkers = []
    for n, cookie in enumerate(setup["speakers"]):
        ws = await _open(*direct(n), cookie=f"sessionid={cookie}", last_seq=1)
        talkers.append(ws)
    runners = [
        await _open(*direct(n), cookie=f"sessionid={setup['facilitator']}", last_seq=1)
        for n in range(2)
    ]
    for ws in (*talkers, *runners):
        sockets.append((ws, asyncio.create_task(_frames(ws, [], errors))))

    async def speak(ws: Any, n: int) -> None:
        for k in range(SAYS_EACH):
            await ws.send(json.dumps({"type": "say", "kind": "message", "text": f"{n}.{k}"}))
            await asyncio.sleep(0.05)

    async def run(ws: Any, n: int) -> None:
        for k in range(TIMERS_EACH):
            await ws.send(json.dumps({"type": "timer", "seconds": 60 * (n * TIMERS_EACH + k + 1)}))
            await asyncio.sleep(0.05)

    started = time.monotonic()
    await asyncio.gather(
        *(speak(ws, n) for n, ws in enumerate(talkers)),
        *(run(ws, n) for n, ws in enumerate(runners)),
    )

    async def everyone_heard() -> None:
        while any(not r or r[-1]["seq"] < ROOM_EVENTS for r in readers) and not errors:
            await asyncio.sleep(0.05)

    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(everyone_heard(), timeout=60)
    heard = time.monotonic() - started
    group = f"*__group__{group_name(setup['room'])}"
    carried_by = [i for i, shard in enumerate(shards) if shard.client().pubsub_channels(group)]
    await asyncio.sleep(0.5)  # anything sent twice would arrive now
    for ws, task in sockets:
        await ws.close()
        task.cancel()
    return {"readers": readers, "errors": errors, "seconds": heard, "shards": carried_by}


# --- Both servers at once -----------------------------------------------------------------------


def both_at_once(ports: list[int], request: Any, *, url: str, round_id: int) -> list[int]:
    """``request(conn)`` sent to each web server at once, both inside the round's critical
    section together: the test holds the round's row lock until one request from each server
    waits on it, then lets go. Without the services' own lock, both would already have read
    the round and would both go on. Returns the statuses."""
    import psycopg

    statuses = [0] * len(ports)

    def one(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", ports[i], timeout=120)
        statuses[i] = request(conn)
        conn.close()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(ports))]
    with psycopg.connect(url) as holder, psycopg.connect(url, autocommit=True) as watcher:
        holder.execute("SELECT 1 FROM pb_round WHERE id = %s FOR UPDATE", [round_id])

        def web_sessions_waiting() -> bool:
            # Waiting on the test's lock, or queued behind the other server's wait for it.
            rows = watcher.execute(
                "SELECT count(DISTINCT application_name) FROM pg_stat_activity "
                "WHERE application_name LIKE 'stack-gunicorn-%' "
                "AND cardinality(pg_blocking_pids(pid)) > 0"
            ).fetchone()
            return rows is not None and rows[0] == len(ports)

        for t in threads:
            t.start()
        wait_for(web_sessions_waiting, timeout=60, what="both web servers to wait on the round")
        holder.rollback()
    for t in threads:
        t.join(timeout=120)
    return statuses


# --- The test -----------------------------------------------------------------------------------


def test_two_of_every_process_behind_nginx_behave_as_one(tmp_path: Path) -> None:
    need(connection.vendor == "postgresql", "PostgreSQL (set DATABASE_URL)")
    need(os.access(NGINX, os.X_OK), f"nginx ({NGINX}; apt-get install nginx, or make nginx)")
    need(shutil.which("pg_dump") is not None, "pg_dump")
    began = time.monotonic()
    database = f"cp_stack_{uuid.uuid4().hex[:12]}"
    base = _test_database_url().rsplit("/", 1)[0]
    url = f"{base}/{database}"
    import psycopg

    with psycopg.connect(f"{base}/postgres", autocommit=True) as admin_conn:
        admin_conn.execute(f'CREATE DATABASE "{database}"')
    cache = PrivateRedis(tmp_path / "redis", appendonly=False)
    shard = PrivateRedis(tmp_path / "shard", appendonly=False)
    broker = PrivateRedis(tmp_path / "broker", appendonly=True)
    stack: Stack | None = None
    try:
        schema = subprocess.run(
            ["pg_dump", "--schema-only", "--no-owner", f"--dbname={_test_database_url()}"],
            check=True, capture_output=True, text=True, timeout=120,
        ).stdout  # fmt: skip
        subprocess.run(
            ["psql", "-q", "-v", "ON_ERROR_STOP=1", f"--dbname={url}"],
            input=schema, check=True, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        cache.start()
        shard.start()
        broker.start()
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "backend.settings",
            "DATABASE_URL": url,
            "REDIS_URL": cache.url,
            "CHANNELS_REDIS_URLS": f"{cache.url},{shard.url}",
            "CELERY_BROKER_URL": broker.url,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "CHANNELS_PREFIX": "stack",
            "CACHE_PREFIX": "stack",
            "DEBUG": "false",
            "SECRET_KEY": "stack-test-" + uuid.uuid4().hex,
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "false",
            "NUM_PROXIES": "1",  # nginx appends the client's address
            # Small pools: the machine's PostgreSQL is shared with every other test run.
            "DATABASE_POOL_MIN": "1",
            "DATABASE_POOL_MAX": "4",
            "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
            "MEDIA_ROOT": str(tmp_path / "media"),
            # Every voter comes from 127.0.0.1.
            "VOTER_CODE_FAILURES": "1000000/hour",
            "PYTHONUNBUFFERED": "1",
        }
        made = subprocess.run(
            [sys.executable, "-c", SETUP % {"codes": CODES_PER_AREA, "speakers": SPEAKERS}],
            cwd=ROOT, env=env, check=True, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        setup = json.loads(made.stdout.strip().splitlines()[-1])
        # A channel prefix that puts the room's group on the second shard, not the cache's
        # Redis: finding it there shows the layer really spreads over both.
        env["CHANNELS_PREFIX"] = next(
            prefix
            for prefix in (f"stack{n}" for n in range(100))
            if _consistent_hash(
                f"{prefix}{os.environ.get('PYTEST_XDIST_WORKER', '')}__group__"
                f"{group_name(setup['room'])}",
                2,
            )
            == 1
        )

        stack = Stack(tmp_path / "logs", env)
        bin_ = Path(sys.executable).parent
        web = [free_port() for _ in range(2)]
        ws = [free_port() for _ in range(2)]
        proxy = free_port()
        for i, port in enumerate(web):
            stack.start(f"gunicorn-{i + 1}", [
                str(bin_ / "gunicorn"), "backend.wsgi:application", "--bind", f"127.0.0.1:{port}",
                "--worker-class", "gthread", "--workers", "2", "--threads", "4",
            ])  # fmt: skip
        for i, port in enumerate(ws):
            stack.start(f"uvicorn-{i + 1}", [
                str(bin_ / "uvicorn"), "backend.asgi:application", "--host", "127.0.0.1",
                "--port", str(port), "--ws-max-size", "65536", "--no-access-log",
            ])  # fmt: skip
        for i in range(2):
            stack.start(f"worker-{i + 1}", [
                str(bin_ / "celery"), "-A", "backend", "worker", "-n", f"stack{i + 1}@%h",
                "-l", "info", "-Q", "celery,tally,notifications", "-c", "1",
                "--without-gossip", "--without-mingle",
            ])  # fmt: skip
        stack.start("beat", [
            str(bin_ / "celery"), "-A", "backend", "beat", "-l", "info",
            "-s", str(tmp_path / "beat-schedule"), "--pidfile=",
        ])  # fmt: skip
        run = tmp_path / "nginx"
        run.mkdir()
        (run / "nginx.conf").write_text(nginx_conf(run, proxy, web, ws))
        stack.start("nginx", [NGINX, "-p", str(run), "-c", str(run / "nginx.conf"),
                              "-e", str(run / "error.log"), "-g", "daemon off;"])  # fmt: skip

        def ready() -> bool:
            stack.check_alive()
            workers_up = all(" ready." in stack.log(f"worker-{i + 1}") for i in range(2))
            return workers_up and all(_answers(p) for p in (*web, *ws, proxy))

        wait_for(ready, timeout=120, what="every process to start")
        started = time.monotonic()

        # 1. A flood of ballots through nginx.
        codes = {c: pk for c, pk, _area in setup["codes"]}
        floods = [
            Flood(proxy, setup["round"], setup["projects"][area], [c for c, _pk, a in
                  setup["codes"] if a == area])
            for area in ("North", "South")
        ]  # fmt: skip
        flood_began = time.monotonic()
        for flood in floods:
            flood.start()
        for flood in floods:
            for t in flood.threads:
                t.join(timeout=300)
            flood.stop.set()
        flood_seconds = time.monotonic() - flood_began
        statuses = Counter(s for f in floods for _at, s, _b, _r in f.answers)
        assert statuses == {201: len(codes)}, (statuses, stack.tails())
        stored = dict(sql(url, "SELECT voter_code_id, count(*) FROM pb_participation GROUP BY 1"))
        assert stored == {pk: 1 for pk in codes.values()}
        ballots = sql(
            url, "SELECT (SELECT count(*) FROM pb_ballot) + (SELECT count(*) FROM pb_pendingballot)"
        )
        assert ballots[0][0] == len(codes)
        ballot_path = f"/api/v1/rounds/{setup['round']}/ballots/"
        by_server = upstreams(run, ballot_path)
        assert set(by_server) == {f"127.0.0.1:{p}" for p in web}, by_server  # both used
        assert all(set(c) == {"201"} for c in by_server.values()), by_server

        # 2. A room whose readers are spread over both uvicorn servers.
        evening = asyncio.run(room_evening(proxy, ws, setup, [cache, shard]))
        assert evening["errors"] == []
        assert evening["shards"] == [1]  # on one shard, the one its name hashes to
        log = sql(url, "SELECT seq, type FROM deliberation_roomevent WHERE room_id = %s "
                  "ORDER BY seq", setup["room"])  # fmt: skip
        assert [seq for seq, _t in log] == list(range(1, ROOM_EVENTS + 1))
        for events in evening["readers"]:
            assert [(e["seq"], e["event"]) for e in events] == log  # once each, in order
        identical = {json.dumps(events, sort_keys=True) for events in evening["readers"]}
        assert len(identical) == 1  # the same events, with the same data, on both servers
        rooms = upstreams(run, f"/ws/rooms/{setup['room']}/?reader=")
        assert set(rooms) == {f"127.0.0.1:{p}" for p in ws}, rooms
        assert sorted(sum(c.values()) for c in rooms.values()) == [READERS // 2] * 2, rooms

        # 3. The count, started from both web servers at the same instant.
        token = {"Authorization": f"Token {setup['token']}", "Content-Type": "application/json"}
        close_vote = json.dumps({"to_phase": "counting", "reason": "Voting is over."})

        def advance(conn: http.client.HTTPConnection) -> int:
            conn.request("POST", f"/api/v1/rounds/{setup['round']}/advance/", close_vote, token)
            response = conn.getresponse()
            response.read()
            return response.status

        csrf = uuid.uuid4().hex  # a 32-character secret, as Django's cookie holds
        page = {
            "Cookie": f"sessionid={setup['admin']}; csrftoken={csrf}",
            "Content-Type": "application/x-www-form-urlencoded",
        }

        def count_now(conn: http.client.HTTPConnection) -> int:
            conn.request("POST", f"/rounds/{setup['slug']}/count/",
                         f"csrfmiddlewaretoken={csrf}", page)  # fmt: skip
            response = conn.getresponse()
            response.read()
            return response.status

        race = {"url": url, "round_id": setup["round"]}
        count_began = time.monotonic()
        assert sorted(both_at_once(web, advance, **race)) == [200, 409]  # one closes the vote
        assert both_at_once(web, count_now, **race) == [302, 302]  # both count, or find it done

        def counted() -> bool:
            stack.check_alive()
            done = "succeeded" in "".join(
                line for i in range(2) for line in stack.log(f"worker-{i + 1}").splitlines()
                if "pb.tasks.tally_round" in line
            )  # fmt: skip
            phase = sql(url, "SELECT phase FROM pb_round WHERE id = %s", setup["round"])
            return done and phase[0][0] == "results"

        wait_for(counted, timeout=120, what="the worker's count")
        count_seconds = time.monotonic() - count_began
        tallies = sql(url, "SELECT area_id, count(*) FROM pb_tally WHERE round_id = %s "
                      "GROUP BY 1", setup["round"])  # fmt: skip
        assert sorted(n for _area, n in tallies) == [1, 1]  # one tally for each area
        records = dict(sql(url, "SELECT action, count(*) FROM pb_auditentry WHERE round_id = %s "
                           "GROUP BY 1", setup["round"]))  # fmt: skip
        assert records.get(AuditAction.ROUND_COUNTED) == 1
        assert AuditAction.ROUND_RECOUNTED not in records
        received = re.compile(r"Task pb\.tasks\.tally_round\[[^\]]+\] received")
        task_runs = sum(len(received.findall(stack.log(f"worker-{i + 1}"))) for i in range(2))
        assert task_runs == 1  # the vote was closed once, so the count was queued once

        stack.check_alive()
        assert "Starting" in stack.log("beat")
        for name, _proc in stack.procs:
            assert "Traceback" not in stack.log(name), stack.tails()
        print(
            f"\nstart-up {started - began:.1f} s; flood {len(codes)} ballots in "
            f"{flood_seconds:.1f} s ({len(codes) / flood_seconds:.0f}/s) through nginx, "
            f"{ {k: dict(v) for k, v in by_server.items()} }; room {ROOM_EVENTS} events to "
            f"{READERS} readers in {evening['seconds']:.2f} s, "
            f"{ {k: dict(v) for k, v in rooms.items()} }; count {count_seconds:.1f} s; "
            f"total {time.monotonic() - began:.1f} s; load {os.getloadavg()[0]:.1f}"
        )
    finally:
        if stack is not None:
            stack.stop()
        cache.stop()
        shard.stop()
        broker.stop()
        with psycopg.connect(f"{base}/postgres", autocommit=True) as admin_conn:
            admin_conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')

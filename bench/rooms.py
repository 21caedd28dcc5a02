"""Fan-out benchmark for live deliberation rooms (issue 8). Prints figures; asserts nothing.

    .venv/bin/python bench/rooms.py --clients 2000 --procs 2 --rate 5 --duration 30
    .venv/bin/python bench/rooms.py --clients 2000 --rate 5 --light-rate 50 --compare

``--compare`` keeps one server and the same readers and alternates phases without and with
``--light-rate`` reactions and hands a second on top (``--rounds`` times, so a change in the
machine's load falls on both), and prints both p99s, their ratio, and whether every reader
got every event exactly once (issue 17's target: the ratio at most 1.5).

What it does:

1. Starts a private ``redis-server`` on a spare port (so restarting it cannot disturb anyone
   else), prepares a PostgreSQL database ``commonpurse_bench`` (created and migrated if
   missing; ``--database-url`` to use another) with one open room, and starts
   ``uvicorn backend.asgi:application`` with ``--workers`` processes and channels-redis'
   pub/sub layer.
2. Opens ``--clients`` anonymous WebSocket readers in one room, spread over ``--procs`` client
   processes (plain asyncio + ``websockets``; they find the fields they need with ``str.find``
   rather than parsing every frame, so they stay light), each joining with the room's current
   ``last_seq``.
3. A speaker process holds signed-in connections (enough residents to stay under the
   10-a-minute limit each) and posts ``say`` at ``--rate`` a second, stamping the send time in
   the text; ``--light-rate`` adds reactions and hands on top.
4. Every reader records, for each contribution, the delay from ``say`` to delivery; every frame's
   ``seq`` is checked for gaps, duplicates and order. ``--restart-redis`` restarts Redis half way
   through; readers whose connection drops reconnect with their ``last_seq``.
5. Prints connection times, fan-out latency p50/p95/p99, deliveries a second, completeness, and
   the CPU seconds used by clients, server workers and Redis.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import multiprocessing as mp
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MARK = "bench@"  # the text of a bench contribution: "bench@<send time in ns> ..."
MARK_BYTES = MARK.encode()
EVENT_START = b'{"type":"event"'
SAY_LIMIT_PER_MINUTE = 10


# --- Helpers --------------------------------------------------------------------------------


def _django_json(env: dict[str, str], script: str) -> dict[str, Any]:
    """Run ``script`` in a Django process of its own; the JSON object it prints last."""
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit(f"nothing listens on port {port}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its reaped children, from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    return sum(int(x) for x in fields[11:15]) / ticks


def children(pid: int) -> list[int]:
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            text = (task / "children").read_text().split()
            found += [int(c) for c in text]
    return found


def tree_cpu(pid: int) -> float:
    return cpu_seconds(pid) + sum(tree_cpu(c) for c in children(pid))


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q / 100 * (len(sorted_values) - 1))))
    return sorted_values[index]


def run_loop(coro: Any) -> None:
    """uvloop where installed (uvicorn[standard] brings it): a lighter client loop."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(coro)
    else:
        uvloop.run(coro)


# --- Set-up ---------------------------------------------------------------------------------


def start_redis(port: int, workdir: str) -> subprocess.Popen[bytes]:
    redis = shutil.which("redis-server")
    if not redis:
        raise SystemExit("redis-server is not installed; the benchmark needs its own Redis")
    proc = subprocess.Popen(
        [redis, "--port", str(port), "--save", "", "--appendonly", "no", "--dir", workdir],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_port(port)
    return proc


def prepare_database(env: dict[str, str], speakers: int) -> dict[str, Any]:
    """Create and migrate the bench database, and one open room with residents to speak."""
    url = env["DATABASE_URL"]
    if url.startswith("postgres"):
        import psycopg

        base, _, name = url.rpartition("/")
        with psycopg.connect(base + "/postgres", autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{name}"')
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
    )
    script = f"""
import datetime as dt, json, uuid
import django
django.setup()
from django.contrib.sessions.backends.db import SessionStore
from django.utils import timezone
from backend.accounts.models import Profile, Role, User
from deliberation import services
from pb.rounds.models import Round
tag = uuid.uuid4().hex[:8]
round_ = Round.objects.create(
    name="Bench " + tag, slug="bench-" + tag, budget=1, phase="deliberation"
)
fac = User.objects.create_user(email=f"fac-{{tag}}@bench.invalid", role=Role.FACILITATOR)
room = services.room_create(actor=fac, round=round_, title="Bench room", starts_at=timezone.now())
services.room_open(room=room, actor=fac)
cookies = []
for i in range({speakers}):
    u = User.objects.create_user(
        email=f"s{{i}}-{{tag}}@bench.invalid", display_name=f"Speaker {{i}}"
    )
    Profile.objects.get_or_create(user=u)
    s = SessionStore()
    s["_auth_user_id"] = str(u.pk)
    s["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    s["_auth_user_hash"] = u.get_session_auth_hash()
    s.create()
    cookies.append("sessionid=" + s.session_key)
s = SessionStore()
s["_auth_user_id"] = str(fac.pk)
s["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
s["_auth_user_hash"] = fac.get_session_auth_hash()
s.create()
room.refresh_from_db()
print(json.dumps({{"room": room.pk, "seq": room.last_seq, "speakers": cookies,
                   "facilitator": "sessionid=" + s.session_key}}))
"""
    return _django_json(env, script)


def count_events(env: dict[str, str], room: int, after: int) -> dict[str, Any]:
    script = f"""
import json, django
django.setup()
from django.db.models import Count
from deliberation.models import RoomEvent
events = RoomEvent.objects.filter(room_id={room})
rows = events.filter(seq__gt={after}).values("type").annotate(n=Count("id"))
last = events.order_by("-seq").values_list("seq", flat=True).first()
texts = events.filter(seq__gt={after}, type="said").values_list("data__text", flat=True)
sent = [int(t[len("{MARK}"):].split(" ")[0]) for t in texts if t.startswith("{MARK}")]
print(json.dumps({{"types": {{r["type"]: r["n"] for r in rows}}, "last": last or 0,
                   "said_sent": sent}}))
"""
    return _django_json(env, script)


# --- Readers --------------------------------------------------------------------------------


class Reader:
    __slots__ = (
        "batches",
        "connect_ms",
        "delays",
        "dupes",
        "events",
        "frames",
        "gaps",
        "last_seq",
        "reconnects",
    )

    def __init__(self, start_seq: int) -> None:
        self.last_seq = start_seq
        self.delays: list[tuple[int, float]] = []  # (send time in ns, delay in ms)
        self.frames = 0
        self.events = 0
        self.batches = 0
        self.dupes = 0
        self.gaps = 0
        self.reconnects = 0
        self.connect_ms = 0.0


class RawReader(asyncio.Protocol):
    """A minimal WebSocket client for reading a room: handshake, join, then frames parsed in
    place from the byte stream (server frames are unmasked; ours use the all-zero mask, which
    the protocol allows). Far lighter than a general client, so a few processes can hold
    thousands of connections without becoming the bottleneck they measure."""

    def __init__(self, host: str, port: int, path: str, reader: Reader, opened: Any) -> None:
        self.host, self.port, self.path = host, port, path
        self.reader = reader
        self.opened = opened
        self.buf = bytearray()
        self.open = False
        self.joined = False
        self.transport: Any = None
        self.closed = asyncio.get_running_loop().create_future()
        self.t0 = time.perf_counter()

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        key = "dGhlIHNhbXBsZSBub25jZQ=="
        transport.write(
            (
                f"GET {self.path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                f"Origin: http://{self.host}:{self.port}\r\n\r\n"
            ).encode()
        )

    def send_frame(self, payload: bytes, opcode: int = 1) -> None:
        assert self.transport is not None
        n = len(payload)
        if n < 126:
            head = bytes([0x80 | opcode, 0x80 | n])
        elif n < 65536:
            head = bytes([0x80 | opcode, 0x80 | 126]) + n.to_bytes(2, "big")
        else:
            head = bytes([0x80 | opcode, 0x80 | 127]) + n.to_bytes(8, "big")
        self.transport.write(head + b"\0\0\0\0" + payload)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if not self.open:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            if not self.buf.startswith(b"HTTP/1.1 101"):
                assert self.transport is not None
                self.transport.close()
                return
            del self.buf[: end + 4]
            self.open = True
            self.send_frame(json.dumps({"type": "join", "last_seq": self.reader.last_seq}).encode())
        buf = self.buf
        size, at = len(buf), 0
        while size - at >= 2:
            opcode, n, i = buf[at] & 0x0F, buf[at + 1] & 0x7F, at + 2
            if n == 126:
                if size - at < 4:
                    break
                n, i = int.from_bytes(buf[at + 2 : at + 4], "big"), at + 4
            elif n == 127:
                if size - at < 10:
                    break
                n, i = int.from_bytes(buf[at + 2 : at + 10], "big"), at + 10
            if size < i + n:
                break
            at = i + n
            if opcode == 1:
                self.on_text(bytes(buf[i:at]))
            elif opcode == 9:
                self.send_frame(bytes(buf[i:at]), opcode=10)  # pong, or uvicorn drops us
            elif opcode == 8:
                assert self.transport is not None
                self.transport.close()
        del buf[:at]

    def on_text(self, text: bytes) -> None:
        reader = self.reader
        if not self.joined:
            if text.startswith(b'{"type": "joined"'):
                self.joined = True
                if not reader.connect_ms:
                    reader.connect_ms = (time.perf_counter() - self.t0) * 1000
                self.opened.set_result(None) if not self.opened.done() else None
            elif text.startswith(b'{"type":"event"'):  # a replay after a reconnect
                self.on_event(text, time.time_ns())
            return
        now = time.time_ns()
        reader.frames += 1
        if text.startswith(b'{"type":"event"'):
            self.on_event(text, now)
        elif text.startswith(b'{"type":"batch"'):
            reader.batches += 1
            at = text.find(EVENT_START)
            while at >= 0:
                following = text.find(EVENT_START, at + 1)
                self.on_event(text[at : following if following >= 0 else len(text)], now)
                at = following

    def on_event(self, text: bytes, now: int) -> None:
        reader = self.reader
        reader.events += 1
        seq = _seq_of(text)
        if seq <= reader.last_seq:
            reader.dupes += 1
            return
        if seq != reader.last_seq + 1:
            reader.gaps += 1
        reader.last_seq = seq
        i = text.find(MARK_BYTES)
        if i >= 0:
            j = text.find(b" ", i)
            sent = int(text[i + len(MARK_BYTES) : j])
            reader.delays.append((sent, (now - sent) / 1e6))

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)


def _seq_of(text: bytes) -> int:
    i = text.find(b'"seq":')
    if i < 0:
        return -1
    j = k = i + 6
    while k < len(text) and 48 <= text[k] <= 57:
        k += 1
    return int(text[j:k])


async def read_room(
    host: str, port: int, path: str, reader: Reader, stop: asyncio.Event, sem: asyncio.Semaphore
) -> None:
    """Hold one reader's connection; after a drop, reconnect and join with its last_seq."""
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        protocol: RawReader | None = None
        try:
            async with sem:
                opened = loop.create_future()
                _, protocol = await loop.create_connection(
                    functools.partial(RawReader, host, port, path, reader, opened), host, port
                )
                await asyncio.wait_for(asyncio.shield(opened), 60)
            await protocol.closed
        except (OSError, TimeoutError):
            pass
        finally:
            if protocol is not None and protocol.transport is not None:
                protocol.transport.close()
        if stop.is_set():
            return
        reader.reconnects += 1
        await asyncio.sleep(0.5)


def reader_process(url: str, n: int, start_seq: int, ready: Any, stop_at: Any, out: Any) -> None:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    host, port, path = parts.hostname or "127.0.0.1", parts.port or 80, parts.path

    async def main() -> None:
        stop = asyncio.Event()
        sem = asyncio.Semaphore(100)  # connection attempts in flight
        readers = [Reader(start_seq) for _ in range(n)]
        tasks = [asyncio.create_task(read_room(host, port, path, r, stop, sem)) for r in readers]
        while sum(1 for r in readers if r.connect_ms) < n:
            await asyncio.sleep(0.1)
        ready.release()
        while stop_at.value == 0 or time.time() < stop_at.value:
            await asyncio.sleep(0.1)
        stop.set()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        out.put(
            {
                "connect_ms": [r.connect_ms for r in readers],
                "delays": [d for r in readers for d in r.delays],
                "frames": sum(r.frames for r in readers),
                "events": sum(r.events for r in readers),
                "batches": sum(r.batches for r in readers),
                "dupes": sum(r.dupes for r in readers),
                "gaps": sum(r.gaps for r in readers),
                "reconnects": sum(r.reconnects for r in readers),
                "last_seqs": [r.last_seq for r in readers],
                "said": [len(r.delays) for r in readers],
                "cpu": usage.ru_utime + usage.ru_stime,
            }
        )

    run_loop(main())


# --- Speakers -------------------------------------------------------------------------------


def speaker_process(
    url: str,
    cookies: list[str],
    rate: float,
    windows: list[tuple[float, float, float]],
    go: Any,
    out: Any,
) -> None:
    """Speak at ``rate`` a second, with reactions and hands on top, in each window
    ``(start, end, light rate)`` (seconds after ``go``); quiet between windows."""

    async def main() -> None:
        from websockets.asyncio.client import connect

        conns: list[Any] = []
        for cookie in cookies:
            ws = await connect(
                url,
                origin="http" + url[2:].split("/ws/")[0],  # the Origin check wants the port
                additional_headers={"Cookie": cookie},
            )  # type: ignore[arg-type]
            await ws.send(json.dumps({"type": "join", "last_seq": 10**12}))
            conns.append(ws)
        errors: dict[str, int] = {}
        contribution: list[int] = []
        hands: dict[int, bool] = {}

        async def drain(ws: Any) -> None:
            with contextlib.suppress(Exception):
                async for text in ws:
                    if '"type":"error"' in text:
                        code = json.loads(text)["code"]
                        errors[code] = errors.get(code, 0) + 1
                    elif not contribution and '"event":"said"' in text:
                        contribution.append(json.loads(text)["data"]["id"])

        drains = [asyncio.create_task(drain(ws)) for ws in conns]
        go.wait()
        sent = {"say": 0, "light": 0}
        i = 0
        base = time.time()
        for offset, until, light in windows:
            start, end = base + offset, base + until
            await asyncio.sleep(max(0.0, start - time.time()))
            origin = time.perf_counter()
            period = 1 / rate if rate else None
            light_period = 1 / light if light else None
            next_say, next_light = origin, origin
            while time.time() < end:
                now = time.perf_counter()
                if period and now >= next_say:
                    ws = conns[i % len(conns)]
                    i += 1
                    text = f"{MARK}{time.time_ns()} contribution {i}"
                    with contextlib.suppress(Exception):
                        await ws.send(json.dumps({"type": "say", "kind": "message", "text": text}))
                        sent["say"] += 1
                    next_say += period
                if light_period and now >= next_light and contribution:
                    k = sent["light"] % len(conns)
                    ws = conns[k]
                    if sent["light"] % 2:
                        frame = {
                            "type": "react",
                            "contribution": contribution[0],
                            "reaction": ("agree", "disagree", "unsure")[sent["light"] % 3],
                        }
                    else:
                        hands[k] = not hands.get(k, False)
                        frame = {"type": "hand", "raised": hands[k]}
                    with contextlib.suppress(Exception):
                        await ws.send(json.dumps(frame))
                        sent["light"] += 1
                    next_light += light_period
                await asyncio.sleep(
                    max(
                        0.0,
                        min(next_say if period else 1e18, next_light if light_period else 1e18)
                        - time.perf_counter(),
                    )
                )
        await asyncio.sleep(0.5)
        for d in drains:
            d.cancel()
        for ws in conns:
            with contextlib.suppress(Exception):
                await ws.close()
        usage = resource.getrusage(resource.RUSAGE_SELF)
        out.put({"sent": sent, "errors": errors, "cpu": usage.ru_utime + usage.ru_stime})

    run_loop(main())


# --- Main -----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--procs", type=int, default=2, help="reader processes")
    parser.add_argument("--rate", type=float, default=5, help="contributions a second")
    parser.add_argument("--light-rate", type=float, default=0, help="reactions+hands a second")
    parser.add_argument(
        "--duration", type=float, default=20, help="seconds of speaking (per phase)"
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=2,
        help="with --compare: how many times the phases without and with alternate",
    )
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers")
    parser.add_argument("--ws", default="auto", help="uvicorn's WebSocket implementation")
    parser.add_argument(
        "--deflate",
        action="store_true",
        help="let uvicorn compress frames per connection (off: compressing every frame once "
        "per client costs more than it saves on ~300-byte frames)",
    )
    parser.add_argument("--restart-redis", action="store_true")
    parser.add_argument(
        "--profile",
        metavar="OUT",
        help="run the server as one process under cProfile, every thread profiled "
        "(bench/profiled_uvicorn.py): stats in OUT.<thread>.prof and OUT.all.prof; "
        "the figures are then the profiler's, not the server's",
    )
    parser.add_argument(
        "--compare",
        action="store_true",
        help="two runs back to back, the same but for reactions and hands: first none, then "
        "--light-rate (50 when not given); prints both p99s, their ratio and completeness",
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/commonpurse_bench"
        ),
    )
    args = parser.parse_args()
    if not args.compare:
        measure(args, [("run", args.light_rate)])
        return
    light = args.light_rate or 50
    phases = [("without", 0.0), ("with", light)] * args.rounds
    result = measure(args, phases)
    print(
        f"\nCompared in one run (one server, the same {args.clients} readers; phases of "
        f"{args.duration:.0f} s, alternating {args.rounds} times): {args.rate}/s contributions, "
        f"without and with {light}/s reactions+hands"
    )
    p99 = {}
    for name in ("without", "with"):
        mine = [r for r in result["phases"] if r["name"] == name]
        delays = sorted(d for r in mine for d in r["delays"])
        delivered = sum(r["delivered"] for r in mine)
        expected = sum(r["expected"] for r in mine)
        p99[name] = percentile(delays, 99)
        print(
            f"  {name:>7}: fan-out p50 {percentile(delays, 50):.1f} ms, p99 {p99[name]:.1f} ms "
            f"(per phase: {', '.join(format(r['p99'], '.1f') for r in mine)}); contributions "
            f"delivered {delivered} of {expected}; server CPU per second (2 = both cores): "
            f"{', '.join(format(r['cpu'], '.2f') for r in mine)}; load average at each phase's "
            f"start: {'; '.join(r['load'] for r in mine)}"
        )
    ratio = p99["with"] / p99["without"] if p99["without"] else float("nan")
    print(f"  p99 ratio with/without: {ratio:.2f} (target at most 1.5)")
    print(
        f"  every event exactly once, in order, to every reader: "
        f"{'yes' if result['exact'] else 'NO'} ({result['events']} events received of "
        f"{result['events_expected']} = {result['logged']} logged x {args.clients} readers; "
        f"duplicates {result['dupes']}, gaps {result['gaps']}, readers at the last seq "
        f"{result['complete']}/{args.clients}, reconnects {result['reconnects']})"
    )


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def measure(args: argparse.Namespace, phases: list[tuple[str, float]]) -> dict[str, Any]:
    """One run: a fresh Redis, room and server, the readers, then a speaker through each phase
    ``(name, reactions+hands a second)`` of ``--duration`` seconds, with a quiet gap between
    phases; prints figures and returns them per phase."""
    load_before = loadavg()
    gap = 3.0
    windows = [
        (k * (args.duration + gap), k * (args.duration + gap) + args.duration, light)
        for k, (_name, light) in enumerate(phases)
    ]
    total = windows[-1][1]
    light_rate = max(light for _name, light in phases)

    workdir = tempfile.mkdtemp(prefix="rooms-bench-")
    redis_port, web_port = free_port(), free_port()
    env = {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "DEBUG": "false",
        "SECRET_KEY": "bench-" + "x" * 50,
        "SECURE_SSL_REDIRECT": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_LEVEL": "WARNING",
        "DATABASE_POOL_MAX": "10",
        "DJANGO_SETTINGS_MODULE": "backend.settings",
    }
    redis = start_redis(redis_port, workdir)
    server: subprocess.Popen[bytes] | None = None
    try:
        # Enough residents that nobody passes the per-person limits (10 says, 60 light a minute).
        speakers = max(
            2,
            int(args.rate * 60 / SAY_LIMIT_PER_MINUTE * 1.5) + 1,
            int(light_rate * 1.5) + 1,
        )
        setup = prepare_database(env, speakers)
        if args.profile:
            args.workers = 1
            command = [sys.executable, str(ROOT / "bench" / "profiled_uvicorn.py"), args.profile]
        else:
            command = [str(Path(sys.executable).parent / "uvicorn")]
        server = subprocess.Popen(
            [
                *command,
                "backend.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(web_port),
                "--workers",
                str(args.workers),
                "--ws",
                args.ws,
                "--ws-per-message-deflate",
                str(args.deflate).lower(),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            cwd=ROOT,
            env=env,
        )
        wait_port(web_port)
        url = f"ws://127.0.0.1:{web_port}/ws/rooms/{setup['room']}/"

        ctx = mp.get_context("spawn")
        ready = ctx.Semaphore(0)
        go = ctx.Event()
        stop_at = ctx.Value("d", 0.0)
        out = ctx.Queue()
        per = [
            args.clients // args.procs + (1 if i < args.clients % args.procs else 0)
            for i in range(args.procs)
        ]
        t0 = time.perf_counter()
        readers = [
            ctx.Process(target=reader_process, args=(url, n, setup["seq"], ready, stop_at, out))
            for n in per
        ]
        for p in readers:
            p.start()
        for _ in readers:
            if not ready.acquire(timeout=300):
                raise SystemExit("the readers did not all connect within 5 minutes")
        connect_all_s = time.perf_counter() - t0
        speaker_out = ctx.Queue()
        speaker = ctx.Process(
            target=speaker_process,
            args=(url, setup["speakers"], args.rate, windows, go, speaker_out),
        )
        speaker.start()
        time.sleep(2)  # speakers connected, presence settled
        server_cpu0 = tree_cpu(server.pid)
        redis_cpu0 = cpu_seconds(redis.pid)
        start = time.time()
        speaking_until = start + total
        stop_at.value = speaking_until + 5  # readers drain for 5 s after the last say
        go.set()
        loads = []
        phase_cpu = []  # the server's CPU seconds during each phase
        for offset, end, _light in windows:
            time.sleep(max(0.0, start + offset - time.time()))
            loads.append(loadavg())
            if args.restart_redis:
                continue
            before = tree_cpu(server.pid)
            time.sleep(max(0.0, start + end - time.time()))
            phase_cpu.append(tree_cpu(server.pid) - before)
        if args.restart_redis:
            time.sleep(max(0.0, start + total / 2 - time.time()))
            redis.send_signal(signal.SIGTERM)
            redis.wait(timeout=10)
            time.sleep(1)
            redis = start_redis(redis_port, workdir)
            print("Redis restarted half way through")
        time.sleep(max(0.0, speaking_until - time.time()))
        speaker_result = speaker_out.get(timeout=total + 60)
        results = [out.get(timeout=total + 120) for _ in readers]
        server_cpu = tree_cpu(server.pid) - server_cpu0
        redis_cpu = cpu_seconds(redis.pid) - (0 if args.restart_redis else redis_cpu0)
        wall = time.time() - start
        for p in [*readers, speaker]:
            p.join(timeout=10)
        counts = count_events(env, setup["room"], setup["seq"])
    finally:
        if server is not None:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=60 if args.profile else 15)
            except subprocess.TimeoutExpired:
                server.kill()
        redis.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            redis.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)

    timed = [d for r in results for d in r["delays"]]  # (send time in ns, delay in ms)
    delays = sorted(d for _sent, d in timed)
    connect = sorted(c for r in results for c in r["connect_ms"])
    frames = sum(r["frames"] for r in results)
    said_events = counts["types"].get("said", 0)
    last = counts["last"]
    complete = sum(1 for r in results for s in r["last_seqs"] if s == last)
    said_per_client = [n for r in results for n in r["said"]]
    events = sum(r["events"] for r in results)
    batches = sum(r["batches"] for r in results)
    dupes = sum(r["dupes"] for r in results)
    gaps = sum(r["gaps"] for r in results)
    logged = last - setup["seq"]
    print(
        f"\nRoom fan-out: {args.clients} readers in {args.procs} processes, "
        f"{len(setup['speakers'])} speakers, uvicorn x{args.workers} (--ws {args.ws}, "
        f"deflate {'on' if args.deflate else 'off'}), "
        "RedisPubSubChannelLayer"
    )
    print(
        f"  asked: {args.rate}/s contributions, "
        + ", then ".join(
            f"{light}/s reactions+hands for {args.duration:.0f} s" for _n, light in phases
        )
    )
    print(f"  sent: {speaker_result['sent']}, refused: {speaker_result['errors'] or 'none'}")
    print(f"  logged events: {counts['types']}")
    print(
        f"  connect (join until 'joined'): p50 {percentile(connect, 50):.0f} ms, "
        f"p99 {percentile(connect, 99):.0f} ms, all {args.clients} in {connect_all_s:.1f} s"
    )
    print(
        f"  fan-out say->delivery: p50 {percentile(delays, 50):.1f} ms, p95 "
        f"{percentile(delays, 95):.1f} ms, p99 {percentile(delays, 99):.1f} ms, max "
        f"{delays[-1] if delays else float('nan'):.1f} ms"
    )
    print(
        f"  deliveries of contributions: {len(delays)} of {said_events * args.clients} expected "
        f"({len(delays) / max(1, said_events * args.clients):.2%}); min per client "
        f"{min(said_per_client)} of {said_events}"
    )
    print(
        f"  frames received: {frames} ({frames / wall:.0f}/s over {wall:.1f} s), of which "
        f"{batches} batches; events received: {events} ({events / wall:.0f}/s)"
    )
    print(
        f"  exactly once and in order: {complete}/{args.clients} readers ended at seq {last}; "
        f"duplicates {dupes}, gaps {gaps}, reconnects {sum(r['reconnects'] for r in results)}"
    )
    print(
        f"  CPU seconds: server {server_cpu:.1f} (over {wall:.0f} s wall, 2 cores = "
        f"{2 * wall:.0f}), redis {redis_cpu:.1f}, readers "
        f"{' + '.join(format(r['cpu'], '.1f') for r in results)}, "
        f"speaker {speaker_result['cpu']:.1f}"
    )
    print(f"  load average (1, 5, 15 min): before {load_before}, after {loadavg()}")
    # Each contribution belongs to the phase it was sent in (phases are `gap` seconds apart).
    per_phase = []
    phase_cpu += [float("nan")] * (len(phases) - len(phase_cpu))
    for (name, _light), (offset, end, _l), load, cpu in zip(
        phases, windows, loads, phase_cpu, strict=True
    ):
        low = (start + offset - gap / 2) * 1e9
        high = (start + end + gap / 2) * 1e9
        mine = sorted(d for sent, d in timed if low <= sent < high)
        said = sum(1 for sent in counts["said_sent"] if low <= sent < high)
        per_phase.append(
            {
                "name": name,
                "delays": mine,
                "p99": percentile(mine, 99),
                "delivered": len(mine),
                "expected": said * args.clients,
                "load": load,
                "cpu": cpu / args.duration,
            }
        )
    return {
        "phases": per_phase,
        "events": events,
        "events_expected": logged * args.clients,
        "logged": logged,
        "complete": complete,
        "dupes": dupes,
        "gaps": gaps,
        "reconnects": sum(r["reconnects"] for r in results),
        "exact": events == logged * args.clients
        and complete == args.clients
        and not dupes
        and not gaps
        and len(delays) == said_events * args.clients,
    }


if __name__ == "__main__":
    main()

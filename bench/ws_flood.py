"""A WebSocket flood against a live server (issue 13): bad, oversized and endless frames and
many full replays from many sockets. Prints figures; exits 1 if the server answered a 5xx,
logged a crash or stopped answering.

    .venv/bin/python bench/ws_flood.py --sockets 200 --burst 200 --joins 20

What it does:

1. Prepares a PostgreSQL database (``--database-url``, default: ``DATABASE_URL``'s name plus
   ``_flood``; created and migrated if missing) with one open room whose log holds
   ``--log-events`` events, and starts ``uvicorn backend.asgi:application`` on a free port
   with the production frame limit (``--ws-max-size 65536``, as ``make stack``). The channel
   layer and cache are Redis when ``REDIS_URL`` is set.
2. Opens ``--sockets`` connections at once, half signed in and half anonymous, plus a few with a
   foreign ``Origin``. Each sends junk (not JSON, unknown types, a ``last_seq`` of 2**64 and of
   -1), a full replay and then ``--joins`` more joins from 0, then ``--burst`` bad frames as fast
   as it can; every fifth sends a 70 KiB frame instead of the burst.
3. Meanwhile it asks for ``/healthz`` and the room's page over HTTP; afterwards a fresh
   socket must join and speak, and the server's log must hold no traceback.
4. Prints what the server answered (error codes, close codes, handshake refusals), the replays
   it really sent, HTTP answers and the server's CPU seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from rooms import free_port, prepare_database, wait_port  # noqa: E402

JUNK = [
    "{not json",
    "[1, 2]",
    '{"type": "shout", "text": "hi"}',
    '{"type": "join", "last_seq": 18446744073709551616}',
    '{"type": "join", "last_seq": -1}',
    '{"type": "say", "kind": "rant", "text": "hi"}',
]
OVERSIZED = json.dumps({"type": "say", "kind": "message", "text": "x" * 70_000})
CRASH_MARKS = ("Traceback", "Exception in ASGI application", "Internal Server Error")


def flood_database_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL server (the flood uses its own database).")
    base, _, name = url.rpartition("/")
    return f"{base}/{name.split('?')[0]}_flood"


def add_log_events(env: dict[str, str], room: int, n: int) -> None:
    script = f"""
import django
django.setup()
from deliberation import services
from deliberation.models import Room
room = Room.objects.get(pk={room})
fac = room.facilitators.first()
for i in range({n}):
    services.timer_set(room=room.pk, actor=fac, seconds=60 + i)
"""
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, check=True)


class Tally:
    def __init__(self) -> None:
        self.errors: collections.Counter[str] = collections.Counter()
        self.closes: collections.Counter[str] = collections.Counter()
        self.handshakes: collections.Counter[str] = collections.Counter()
        self.frames_sent = 0
        self.bytes_sent = 0
        self.replayed_events = 0
        self.joined = 0
        self.http: collections.Counter[str] = collections.Counter()


async def one_socket(
    url: str, origin: str, cookie: str | None, n: int, args: Any, tally: Tally
) -> None:
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed, InvalidStatus

    headers = {"Cookie": cookie} if cookie else {}
    try:
        ws = await connect(
            url,
            origin=origin,  # type: ignore[arg-type]
            additional_headers=headers,
            max_size=None,
            open_timeout=30,
            compression=None,
            # The flooders and the server share the machine: a keepalive ping that a busy
            # client answers late must not be what ends the connection.
            ping_interval=None,
        )
    except InvalidStatus as exc:
        tally.handshakes[str(exc.response.status_code)] += 1
        return
    except Exception as exc:
        tally.handshakes[type(exc).__name__] += 1
        return
    tally.handshakes["101"] += 1

    async def send(text: str) -> None:
        await ws.send(text)
        tally.frames_sent += 1
        tally.bytes_sent += len(text)

    async def reader() -> None:
        async for message in ws:
            if isinstance(message, bytes):
                continue
            if message.startswith('{"type":"event"'):
                tally.replayed_events += 1
            elif message.startswith('{"type":"batch"'):
                tally.replayed_events += message.count('"type":"event"')
            else:
                frame = json.loads(message)
                if frame["type"] == "error":
                    tally.errors[frame["code"]] += 1
                elif frame["type"] == "joined":
                    tally.joined += 1

    reading = asyncio.create_task(reader())
    try:
        for junk in JUNK:
            await send(junk)
        for _ in range(1 + args.joins):
            await send('{"type": "join", "last_seq": 0}')
        if n % 5 == 4:
            await send(OVERSIZED)
        else:
            for i in range(args.burst):
                await send(f'{{"type": "shout", "ref": {i}}}' if i % 2 else "{not json")
        # Whatever is still to come, or the close: the server has a few seconds to answer.
        await asyncio.wait_for(asyncio.shield(reading), timeout=args.linger)
    except (ConnectionClosed, TimeoutError):
        pass
    finally:
        await ws.close()
        with_code = ws.close_code if ws.close_code is not None else "none"
        tally.closes[str(with_code)] += 1
        reading.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
            await reading


def http_status(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return str(answer.status)
    except urllib.error.HTTPError as exc:
        return str(exc.code)
    except Exception as exc:
        return type(exc).__name__


async def probe_http(base: str, room: int, tally: Tally, stop: asyncio.Event) -> None:
    while not stop.is_set():
        for path in ("/healthz", f"/rooms/{room}/"):
            tally.http[await asyncio.to_thread(http_status, base + path)] += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.2)


async def still_serves(url: str, origin: str, cookie: str) -> bool:
    """A fresh signed-in socket joins from the end of the log and its contribution comes back."""
    from websockets.asyncio.client import connect

    async with connect(
        url, origin=origin, additional_headers={"Cookie": cookie}, open_timeout=30
    ) as ws:  # type: ignore[arg-type]
        await ws.send(json.dumps({"type": "join", "last_seq": 2**52}))
        await ws.send(json.dumps({"type": "say", "kind": "message", "text": "after the flood"}))
        async with asyncio.timeout(30):
            async for message in ws:
                if "after the flood" in str(message):
                    return True
    return False


async def flood(
    args: Any, url: str, origin: str, base: str, room: int, cookies: list[str]
) -> Tally:
    tally = Tally()
    stop = asyncio.Event()
    prober = asyncio.create_task(probe_http(base, room, tally, stop))
    jobs = []
    for n in range(args.sockets):
        cookie = cookies[n % len(cookies)] if n % 2 == 0 else None
        jobs.append(one_socket(url, origin, cookie, n, args, tally))
    for n in range(args.foreign):
        jobs.append(one_socket(url, "https://evil.example", None, n, args, tally))
    await asyncio.gather(*jobs)
    stop.set()
    await prober
    return tally


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])
        return ticks / os.sysconf("SC_CLK_TCK")
    except OSError:
        return 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sockets", type=int, default=200)
    parser.add_argument("--foreign", type=int, default=5, help="sockets with a foreign Origin")
    parser.add_argument("--joins", type=int, default=20, help="joins from 0 after the first")
    parser.add_argument("--burst", type=int, default=200, help="frames sent as fast as can be")
    parser.add_argument("--log-events", type=int, default=300, help="events in the room's log")
    parser.add_argument("--linger", type=float, default=10.0, help="seconds to wait for answers")
    parser.add_argument("--database-url", default="")
    parser.add_argument("--json", action="store_true", help="print one JSON object only")
    args = parser.parse_args()

    env = {**os.environ, "DEBUG": "false", "DJANGO_SETTINGS_MODULE": "backend.settings"}
    env.setdefault("SECRET_KEY", "flood-bench-secret-key-not-for-production-xxxxxxxxxxxxxxxx")
    env["DATABASE_URL"] = args.database_url or flood_database_url()
    env["SECURE_SSL_REDIRECT"] = "false"
    env["SESSION_COOKIE_SECURE"] = "false"
    env["LOG_FORMAT"] = "text"
    scene = prepare_database(env, speakers=max(2, args.sockets // 20))
    # Pages need the hashed static files without DEBUG, as in `make stack`.
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    add_log_events(env, scene["room"], args.log_events)

    port = free_port()
    host = "127.0.0.1"
    env["ALLOWED_HOSTS"] = host
    env["SITE_URL"] = f"http://{host}:{port}"
    log = tempfile.NamedTemporaryFile(  # noqa: SIM115 (kept after the run when it failed)
        "w+", prefix="ws-flood-", suffix=".log", delete=False
    )
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "uvicorn"),
            "backend.asgi:application",
            "--host",
            host,
            "--port",
            str(port),
            "--ws-max-size",
            "65536",
            "--ws-per-message-deflate",
            "false",
            "--no-access-log",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_port(port)
        url = f"ws://{host}:{port}/ws/rooms/{scene['room']}/"
        origin, base = f"http://{host}:{port}", f"http://{host}:{port}"
        started = time.perf_counter()
        tally = asyncio.run(flood(args, url, origin, base, scene["room"], scene["speakers"]))
        seconds = time.perf_counter() - started
        alive_after = server.poll() is None
        serves = alive_after and asyncio.run(still_serves(url, origin, scene["facilitator"]))
        server_cpu = cpu_seconds(server.pid)
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
    log.seek(0)
    server_log = log.read()
    crashes = sum(server_log.count(mark) for mark in CRASH_MARKS)
    http_5xx = sum(n for status, n in tally.http.items() if status.startswith("5"))
    handshake_5xx = sum(n for status, n in tally.handshakes.items() if status.startswith("5"))
    report = {
        "sockets": args.sockets,
        "foreign_origin_sockets": args.foreign,
        "seconds": round(seconds, 1),
        "frames_sent": tally.frames_sent,
        "megabytes_sent": round(tally.bytes_sent / 1e6, 1),
        "handshakes": dict(tally.handshakes),
        "error_frames": dict(tally.errors),
        "close_codes": dict(tally.closes),
        "joined_frames": tally.joined,
        "events_replayed": tally.replayed_events,
        "log_events": args.log_events,
        "http_probes": dict(tally.http),
        "http_5xx": http_5xx,
        "handshake_5xx": handshake_5xx,
        "server_crash_lines": crashes,
        "server_alive_after": alive_after,
        "serves_after": bool(serves),
        "server_cpu_seconds": round(server_cpu, 1),
        "server_log": log.name,
    }
    ok = alive_after and serves and not http_5xx and not handshake_5xx and not crashes
    report["ok"] = bool(ok)
    if args.json:
        print(json.dumps(report))
    else:
        width = max(len(k) for k in report)
        for key, value in report.items():
            print(f"{key:<{width}}  {value}")
        if crashes:
            print("\nServer log lines with a crash:")
            for line in server_log.splitlines():
                if any(mark in line for mark in CRASH_MARKS):
                    print("  " + line)
    if ok:
        os.unlink(log.name)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

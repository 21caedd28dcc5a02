"""Ballot casting benchmark (issue 7). Prints figures; asserts nothing.

    .venv/bin/python bench/voting.py --concurrency 20 200 --seconds 15
    .venv/bin/python bench/voting.py --server uvicorn --workers 2   # compare another server
    .venv/bin/python bench/voting.py --bare     # against bare Django, alternating (issue 17)

What it does:

1. Recreates a PostgreSQL database ``voting_bench`` (``--database-url`` for another) with one
   city round in its voting phase (4 areas, 8 projects each) and enough one-time voter codes.
2. Starts the production web processes for HTTP (``--server``, default ``gthread``: what
   ``make stack`` runs, gunicorn's threaded workers serving ``backend.wsgi``; ``uvicorn`` and
   ``gunicorn-uvicorn`` serve ``backend.asgi`` for comparison), ``--workers`` processes, with
   Django's psycopg pool (``DATABASE_POOL_MAX``).
3. For each concurrency level, ``--procs`` client processes keep that many keep-alive HTTP/1.1
   connections busy posting ``POST /api/v1/rounds/{id}/ballots/`` with a voter code; a share
   of the attempts (``--repeat``, 20%) reuse a code that already voted and must get 409.
4. Prints ballots per second (201 answers), p50/p95/p99 latency of all answers, and the
   number of lost (201 answered, nothing stored), doubled (more ballots than 201 answers, or
   a code stored twice) and 5xx answers; then runs ``pgbench`` with the same two inserts of a
   cast (participation and ballot, one transaction) for the ratio of our rate to the
   database's plain insert rate.
5. Beside every figure: the load average before the level (other work on the machine skews
   everything) and the CPU seconds the web server and the load generator used, so a client
   that saturates a core is seen, not mistaken for a slow server.

``--bare [PATH]`` compares instead with a bare Django view doing a cast's two inserts
(``../shared/bench/bare_cast.py`` from the project root unless PATH is given; not part of the
project): Commonpurse's server (gunicorn gthread, as ``make stack``) and the bare server, each on
its own database, are started in turn, ``--turns`` times each, alternating (Commonpurse, bare,
Commonpurse, bare) so that the machine's load swings fall on both, and driven by the same load
generator at every level. It prints each level's figures and, per level, the ratio Commonpurse /
bare of the rate and of p99, per pair of turns and over all turns: the ratio within one run is
the figure, since other work on the machine moves the absolute rates. No pgbench in this mode.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise SystemExit(f"the server did not listen on {port}")


def django_setup(env: dict[str, str]) -> None:
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def prepare(env: dict[str, str], codes_needed: int) -> dict[str, Any]:
    url = env["DATABASE_URL"]
    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    subprocess.run(["psql", admin, "-qc", f"DROP DATABASE IF EXISTS {name}"], check=True)
    subprocess.run(["psql", admin, "-qc", f"CREATE DATABASE {name}"], check=True)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v0"],
        cwd=ROOT,
        env={**os.environ, **env},
        check=True,
    )
    django_setup(env)
    from pb.areas.models import Area
    from pb.proposals.models import Proposal
    from pb.rounds.models import Round, RoundArea
    from pb.voting.services.codes import voter_codes_issue

    round_ = Round.objects.create(
        name="Bench vote",
        slug="bench-vote",
        budget=40_000_000,
        phase="voting",
        voter_codes_enabled=True,
        anonymous_codes=True,  # codes for nobody in particular, as at an event's door
    )
    areas: list[dict[str, Any]] = []
    for i in range(4):
        area = Area.objects.create(name=f"Ward {i}", slug=f"ward-{i}", population=50_000)
        RoundArea.objects.create(round=round_, area=area, allocation=10_000_000)
        projects = [
            Proposal.objects.create(
                round=round_,
                area=area,
                title=f"Project {i}.{j}",
                description="x",
                estimated_cost=1_000_000 + 250_000 * j,
                status="feasible",
            ).pk
            for j in range(8)
        ]
        areas.append({"area": int(area.pk), "projects": projects})
    codes: list[tuple[str, int]] = []
    per_area = codes_needed // len(areas) + 1
    for a in areas:
        area = Area.objects.get(pk=a["area"])
        codes += [
            (c, a["area"])
            for c in voter_codes_issue(actor=None, round=round_, count=per_area, area=area)
        ]
    random.Random(7).shuffle(codes)
    return {"round": round_.pk, "areas": {a["area"]: a["projects"] for a in areas}, "codes": codes}


# --- Load generator: plain asyncio keep-alive HTTP/1.1 --------------------------------------


async def _request(reader: Any, writer: Any, raw: bytes) -> int:
    writer.write(raw)
    await writer.drain()
    status_line = await reader.readline()
    length = 0
    chunked = False
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        name = line[:18].lower()
        if name.startswith(b"content-length:"):
            length = int(line[15:].strip())
        elif name.startswith(b"transfer-encoding:") and b"chunked" in line.lower():
            chunked = True  # gunicorn chunks an answer without Content-Length (the bare view)
    if chunked:
        while size := int((await reader.readline()).split(b";")[0], 16):
            await reader.readexactly(size + 2)
        await reader.readline()  # the empty trailer
    elif length:
        await reader.readexactly(length)
    return int(status_line.split(b" ", 2)[1])


def _body(code: str, projects: list[int], rng: random.Random) -> bytes:
    chosen = rng.sample(projects, 3)  # at most 3 x £27,500 < £100,000 (the area's limit)
    return json.dumps({"voter_code": code, "selections": chosen}).encode()


def client_process(
    port: int,
    round_id: int,
    conns: int,
    codes: list[tuple[str, int]],
    areas: dict[int, list[int]],
    repeat: float,
    seconds: float,
    start_at: float,
    out: Any,
    seed: int,
) -> None:
    async def main() -> dict[str, Any]:
        rng = random.Random(seed)
        fresh = iter(codes)
        cast: list[tuple[str, int]] = []
        latencies: list[float] = []
        statuses: dict[int, int] = {}
        errors = 0
        ok_codes: list[str] = []
        tried: list[str] = []
        path = f"/api/v1/rounds/{round_id}/ballots/"

        async def worker() -> None:
            nonlocal errors
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            while time.time() < start_at:
                await asyncio.sleep(0.01)
            while time.time() < start_at + seconds:
                if cast and rng.random() < repeat:
                    code, area = rng.choice(cast)  # already voted: a valid ballot, must be 409
                    body = _body(code, areas[area], rng)
                else:
                    try:
                        code, area = next(fresh)
                    except StopIteration:
                        return
                    tried.append(code)
                    body = _body(code, areas[area], rng)
                # Each attempt from an address of its own, as voters at home are (the server
                # trusts one proxy's X-Forwarded-For): with every refusal from 127.0.0.1 the
                # refused-code throttle's history of that one address would grow by thousands.
                address = f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
                raw = (
                    f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                    f"X-Forwarded-For: {address}\r\nContent-Length: {len(body)}\r\n\r\n"
                ).encode() + body
                t0 = time.perf_counter()
                try:
                    status = await _request(reader, writer, raw)
                except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
                    errors += 1
                    writer.close()
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                    continue
                latencies.append(time.perf_counter() - t0)
                statuses[status] = statuses.get(status, 0) + 1
                if status == 201:
                    cast.append((code, area))
                    ok_codes.append(code)
            writer.close()

        await asyncio.gather(*(worker() for _ in range(conns)))
        return {
            "latencies": latencies,
            "statuses": statuses,
            "errors": errors,
            "ok": ok_codes,
            "tried": tried,
        }

    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    result = asyncio.run(main())
    result["cpu"] = time.process_time()
    out.put(result)


def warm_up(port: int, round_id: int, seconds: float = 3.0) -> None:
    """GETs on the ballot URL from 24 connections for a few seconds, so every worker has
    loaded the app and its URLs (gunicorn listens before its workers are ready)."""

    async def one() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        raw = f"GET /api/v1/rounds/{round_id}/ballots/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        end = time.time() + seconds
        while time.time() < end:
            await _request(reader, writer, raw.encode())
        writer.close()

    async def main() -> None:
        await asyncio.gather(*(one() for _ in range(24)))

    asyncio.run(main())


def run_level(
    args: argparse.Namespace, port: int, setup: dict[str, Any], level: int, codes: list[Any]
) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    procs = min(args.procs, level)
    per = [level // procs + (1 if i < level % procs else 0) for i in range(procs)]
    chunk = len(codes) // procs
    start_at = time.time() + 2
    ps = [
        ctx.Process(
            target=client_process,
            args=(
                port,
                setup["round"],
                n,
                codes[i * chunk : (i + 1) * chunk],
                setup["areas"],
                args.repeat,
                args.seconds,
                start_at,
                out,
                i,
            ),
        )
        for i, n in enumerate(per)
    ]
    for p in ps:
        p.start()
    results = [out.get(timeout=args.seconds + 120) for _ in ps]
    for p in ps:
        p.join()
    latencies = sorted(x for r in results for x in r["latencies"])
    statuses: dict[int, int] = {}
    for r in results:
        for k, v in r["statuses"].items():
            statuses[k] = statuses.get(k, 0) + v
    ok = [c for r in results for c in r["ok"]]
    return {
        "tried": {c for r in results for c in r["tried"]},
        "level": level,
        "latencies": latencies,
        "statuses": statuses,
        "errors": sum(r["errors"] for r in results),
        "ok": ok,
        "client_cpu": sum(r["cpu"] for r in results),
    }


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(len(values) * p / 100))] * 1000


def check_store(ok_codes: list[str]) -> dict[str, int]:
    from django.db.models import Count

    from pb.voting.models import Ballot, Participation, PendingBallot, VoterCode
    from pb.voting.services.codes import voter_code_hash

    hashes = [voter_code_hash(c) for c in ok_codes]
    stored = 0
    for i in range(0, len(hashes), 5000):
        stored += Participation.objects.filter(
            voter_code__code_hash__in=hashes[i : i + 5000]
        ).count()
    # Cast ballots wait as pending until a worker seals them (none runs here): count both.
    ballots = Ballot.objects.count() + PendingBallot.objects.count()
    participations = Participation.objects.count()
    twice = VoterCode.objects.annotate(n=Count("participation")).filter(n__gt=1).count()
    return {
        "answered_201": len(ok_codes),
        "distinct_201": len(set(ok_codes)),
        "stored_for_201": stored,
        "ballots": ballots,
        "participations": participations,
        "codes_twice": twice,
    }


PGBENCH_SCRIPT = """\
BEGIN;
INSERT INTO pgb_participation (round_id, area_id, channel, age_band, voted_on)
  VALUES (1, 1, 'online', '', current_date);
INSERT INTO pgb_ballot (id, round_id, area_id, channel, selections, receipt_hash, cast_on)
  VALUES (gen_random_uuid(), 1, 1, 'online', '{"1": 1, "2": 1}',
          md5(random()::text) || md5(random()::text), current_date);
END;
"""


def run_pgbench(url: str, clients: int, seconds: int) -> float | None:
    setup_sql = (
        "DROP TABLE IF EXISTS pgb_participation, pgb_ballot;"
        "CREATE TABLE pgb_participation (id bigserial primary key, round_id int, area_id int,"
        " channel varchar(10), age_band varchar(10), voted_on date);"
        "CREATE TABLE pgb_ballot (id uuid primary key, round_id int, area_id int,"
        " channel varchar(10), selections jsonb, receipt_hash varchar(64) unique, cast_on date);"
    )
    subprocess.run(["psql", url, "-qc", setup_sql], check=True)
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
        f.write(PGBENCH_SCRIPT)
    done = subprocess.run(
        ["pgbench", "-n", "-c", str(clients), "-j", "2", "-T", str(seconds), "-f", f.name, url],
        capture_output=True,
        text=True,
        check=False,
    )
    for line in done.stdout.splitlines():
        if line.startswith("tps ="):
            return float(line.split()[2])
    print(done.stdout, done.stderr)
    return None


def tree_cpu(pid: int) -> float:
    """CPU seconds used so far by a process and its children (the server's workers)."""
    pids, total = [pid], 0.0
    tick = os.sysconf("SC_CLK_TCK")
    while pids:
        p = pids.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            children = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except (OSError, IndexError, ValueError):
            continue
        pids += [int(c) for c in children]
    return total


def server_command(args: argparse.Namespace, port: int) -> list[str]:
    bin_dir = Path(sys.executable).parent
    bind = f"127.0.0.1:{port}"
    if args.server == "gthread":
        return [
            str(bin_dir / "gunicorn"),
            "backend.wsgi:application",
            "--bind",
            bind,
            "--workers",
            str(args.workers),
            "--worker-class",
            "gthread",
            "--threads",
            str(args.threads),
            "--log-level",
            "warning",
        ]
    if args.server == "gunicorn-uvicorn":
        return [
            str(bin_dir / "gunicorn"),
            "backend.asgi:application",
            "--bind",
            bind,
            "--workers",
            str(args.workers),
            "--worker-class",
            "uvicorn.workers.UvicornWorker",
            "--log-level",
            "warning",
        ]
    command = [
        str(bin_dir / "uvicorn"),
        "backend.asgi:application",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(args.workers),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    if args.server == "uvicorn-asyncio":
        command += ["--loop", "asyncio", "--http", "h11"]
    return command


def default_bare() -> str:
    return str(ROOT / ".." / "shared" / "bench" / "bare_cast.py")


def level_store_check(ok_codes: list[str]) -> tuple[int, int]:
    """Lost and doubled among one level's 201 answers, in Commonpurse's database."""
    from django.db.models import Count

    from pb.voting.models import Participation
    from pb.voting.services.codes import voter_code_hash

    hashes = sorted({voter_code_hash(c) for c in ok_codes})
    stored = twice = 0
    for i in range(0, len(hashes), 5000):
        counts = (
            Participation.objects.filter(voter_code__code_hash__in=hashes[i : i + 5000])
            .values("voter_code")
            .annotate(n=Count("id"))
        )
        for row in counts:
            stored += 1
            twice += row["n"] > 1
    return len(hashes) - stored, twice + (len(ok_codes) - len(set(ok_codes)))


def bare_store_check(url: str, ok_codes: list[str]) -> tuple[int, int]:
    """Lost and doubled among one level's 201 answers, in the bare server's tables."""
    import hashlib

    import psycopg

    hashes = sorted({hashlib.sha256(c.encode()).hexdigest() for c in ok_codes})
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT code_hash, count(*) FROM bare_participation WHERE code_hash = ANY(%s)"
            " GROUP BY code_hash",
            [hashes],
        ).fetchall()
    twice = sum(1 for _h, n in rows if n > 1)
    return len(hashes) - len(rows), twice + (len(ok_codes) - len(set(ok_codes)))


def excess_ballots(bare_url: str | None, answered: int) -> int:
    """Ballots stored beyond the distinct codes that got a 201 (Commonpurse: cast and still
    pending; bare: its ballot table, made anew each turn)."""
    if bare_url is None:
        from pb.voting.models import Ballot, PendingBallot

        return Ballot.objects.count() + PendingBallot.objects.count() - answered
    import psycopg

    with psycopg.connect(bare_url) as conn:
        row = conn.execute("SELECT count(*) FROM bare_ballot").fetchone()
    return int(row[0] if row else 0) - answered


def compare_bare(args: argparse.Namespace, env: dict[str, str], port: int) -> None:
    """Commonpurse against the bare Django view, alternating turns (see the module's text)."""
    bare_path = Path(args.bare).resolve()
    if not bare_path.exists():
        raise SystemExit(f"no bare server at {bare_path} (give its path: --bare PATH)")
    bare_url = args.bare_database_url or args.database_url + "_bare"
    name = bare_url.rsplit("/", 1)[1]
    admin = bare_url.rsplit("/", 1)[0] + "/postgres"
    subprocess.run(["psql", admin, "-qc", f"DROP DATABASE IF EXISTS {name}"], check=True)
    subprocess.run(["psql", admin, "-qc", f"CREATE DATABASE {name}"], check=True)
    print("… preparing the database and voter codes", flush=True)
    setup = prepare(env, args.codes)
    cp_codes = setup["codes"]
    # The bare server takes any code, and its tables are made anew each turn.
    bare_codes = list(setup["codes"])
    cp_command = server_command(args, port)
    bare_command = [
        sys.executable,
        str(bare_path),
        "--port",
        str(port),
        "--database-url",
        bare_url,
        "--workers",
        str(args.workers),
        "--threads",
        str(args.threads),
        "--pool",
        str(args.pool),
    ]
    rows: list[dict[str, Any]] = []
    cp_answered: set[str] = set()
    for turn in range(args.turns):
        for who in ("commonpurse", "bare"):
            command = cp_command if who == "commonpurse" else bare_command
            print(f"… turn {turn + 1}: {who}", flush=True)
            log = Path(tempfile.gettempdir()) / f"voting-bench-{who}-{turn + 1}.log"
            with log.open("wb") as log_file:
                server = subprocess.Popen(
                    command, cwd=ROOT, env={**os.environ, **env}, stdout=log_file, stderr=log_file
                )
            print(f"  (its output: {log})", flush=True)
            turn_ok: set[str] = set()
            try:
                wait_port(port)
                warm_up(port, setup["round"])
                for level in args.concurrency:
                    load = os.getloadavg()[0]
                    server_cpu = tree_cpu(server.pid)
                    codes = cp_codes if who == "commonpurse" else bare_codes
                    result = run_level(args, port, setup, level, codes)
                    result["server_cpu"] = tree_cpu(server.pid) - server_cpu
                    result["load"] = load
                    result["who"], result["turn"] = who, turn
                    if who == "commonpurse":
                        cp_codes = [c for c in cp_codes if c[0] not in result["tried"]]
                        lost, doubled = level_store_check(result["ok"])
                        cp_answered |= set(result["ok"])
                    else:
                        bare_codes = [c for c in bare_codes if c[0] not in result["tried"]]
                        lost, doubled = bare_store_check(bare_url, result["ok"])
                    turn_ok |= set(result["ok"])
                    result["lost"], result["doubled"] = lost, doubled
                    rows.append(result)
            finally:
                server.terminate()
                server.wait(timeout=30)
            if who == "commonpurse":
                rows[-1]["excess"] = excess_ballots(None, len(cp_answered))
            else:
                bare_codes = list(setup["codes"])
                rows[-1]["excess"] = excess_ballots(bare_url, len(turn_ok))
    print_comparison(args, rows)


def _rate(r: dict[str, Any], seconds: float) -> float:
    return float(r["statuses"].get(201, 0)) / seconds


def print_comparison(args: argparse.Namespace, rows: list[dict[str, Any]]) -> None:
    print(
        "\nturn  server       conc.  ballots/s   p50 ms   p99 ms  lost/doubled/5xx"
        "  load avg  server cpu"
    )
    for r in rows:
        five = sum(v for k, v in r["statuses"].items() if k >= 500) + r["errors"]
        lat = r["latencies"]
        print(
            f"{r['turn'] + 1:>4}  {r['who']:<11}  {r['level']:>5}  {_rate(r, args.seconds):>9.0f}"
            f"  {pct(lat, 50):>7.1f}  {pct(lat, 99):>7.1f}"
            f"  {r['lost']:>6}/{r['doubled']}/{five:<6}  {r['load']:>8.2f}"
            f"  {r['server_cpu'] / args.seconds:>9.2f}c"
        )
    print("(5xx includes broken connections; load avg: 1-minute, before the level)")
    excess = [r["excess"] for r in rows if "excess" in r]
    print(f"ballots stored beyond one per 201'd code, per turn: {excess}")
    print("\nratio commonpurse / bare   conc.  rate    p99")
    for level in args.concurrency:
        for turn in range(args.turns):
            cp, bare = (
                next(r for r in rows if (r["who"], r["turn"], r["level"]) == (w, turn, level))
                for w in ("commonpurse", "bare")
            )
            print(
                f"  turns {turn + 1} (cp) and {turn + 1} (bare)   {level:>5}"
                f"  {_rate(cp, args.seconds) / max(_rate(bare, args.seconds), 1e-9):>5.1%}"
                f"  {pct(cp['latencies'], 99) / pct(bare['latencies'], 99):>5.2f}x"
            )
        pooled = {
            w: [r for r in rows if r["who"] == w and r["level"] == level]
            for w in ("commonpurse", "bare")
        }
        rates = {w: sum(_rate(r, args.seconds) for r in rs) for w, rs in pooled.items()}
        p99s = {
            w: pct(sorted(x for r in rs for x in r["latencies"]), 99) for w, rs in pooled.items()
        }
        print(
            f"  all turns                 {level:>5}"
            f"  {rates['commonpurse'] / max(rates['bare'], 1e-9):>5.1%}"
            f"  {p99s['commonpurse'] / p99s['bare']:>5.2f}x"
            f"   ({rates['commonpurse'] / args.turns:.0f} against {rates['bare'] / args.turns:.0f}"
            f" ballots/s; p99 {p99s['commonpurse']:.0f} against {p99s['bare']:.0f} ms)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/voting_bench")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/7")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[20, 200])
    parser.add_argument("--seconds", type=float, default=None, help="per level (15; 8 with --bare)")
    parser.add_argument(
        "--server",
        choices=["gthread", "uvicorn", "uvicorn-asyncio", "gunicorn-uvicorn"],
        default="gthread",
        help="gthread: gunicorn threads on backend.wsgi (make stack); uvicorn: backend.asgi "
        "with uvloop and httptools; uvicorn-asyncio: with asyncio and h11; gunicorn-uvicorn: "
        "gunicorn managing uvicorn workers",
    )
    parser.add_argument("--workers", type=int, default=3, help="web server processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker")
    parser.add_argument("--pool", type=int, default=10, help="database pool size per worker")
    parser.add_argument("--procs", type=int, default=2, help="load generator processes")
    parser.add_argument("--repeat", type=float, default=0.2, help="share of repeat attempts")
    parser.add_argument("--codes", type=int, default=60_000)
    parser.add_argument("--pgbench-clients", type=int, default=50)
    parser.add_argument(
        "--bare",
        nargs="?",
        const=default_bare(),
        default=None,
        metavar="PATH",
        help="compare with the bare Django cast at PATH (default ../shared/bench/bare_cast.py "
        "from the project root), alternating turns",
    )
    parser.add_argument(
        "--bare-database-url", default=None, help="the bare server's database (default: ..._bare)"
    )
    parser.add_argument("--turns", type=int, default=2, help="turns of each server with --bare")
    args = parser.parse_args()
    if args.seconds is None:
        args.seconds = 8.0 if args.bare else 15.0

    port = free_port()
    env = {
        "DATABASE_URL": args.database_url,
        "REDIS_URL": args.redis_url,
        "DEBUG": "false",
        "SECRET_KEY": "bench-secret-key-not-for-production-0123456789",
        "SECURE_SSL_REDIRECT": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_LEVEL": "WARNING",
        "DATABASE_POOL_MAX": str(args.pool),
        "DJANGO_SETTINGS_MODULE": "backend.settings",
        # Every simulated voter comes from 127.0.0.1 and a share reuse spent codes on purpose:
        # without this the throttle on refused codes (pb/voting/throttles.py) would answer 429.
        "VOTER_CODE_FAILURES": "1000000/hour",
        "NUM_PROXIES": "1",  # the load generator names each voter's address (X-Forwarded-For)
    }
    if args.bare:
        compare_bare(args, env, port)
        return
    print("… preparing the database and voter codes", flush=True)
    setup = prepare(env, args.codes)
    codes = setup["codes"]
    command = server_command(args, port)
    print("… serving with", Path(command[0]).name, *command[1:], flush=True)
    server = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env})
    rows = []
    try:
        wait_port(port)
        warm_up(port, setup["round"])
        for level in args.concurrency:
            print(f"… {level} concurrent voters for {args.seconds:.0f} s", flush=True)
            load = os.getloadavg()[0]
            server_cpu = tree_cpu(server.pid)
            result = run_level(args, port, setup, level, codes)
            result["server_cpu"] = tree_cpu(server.pid) - server_cpu
            result["load"] = load
            codes = [c for c in codes if c[0] not in result["tried"]]  # fresh codes only
            rows.append(result)
    finally:
        server.terminate()
        server.wait(timeout=30)

    all_ok = [c for r in rows for c in r["ok"]]
    store = check_store(all_ok)
    print(
        "\nconcurrency  ballots/s  answers/s   p50 ms   p95 ms   p99 ms     201     409"
        "  other 4xx  5xx  conn errors  load avg  server cpu  client cpu"
    )
    for r in rows:
        st = r["statuses"]
        five = sum(v for k, v in st.items() if k >= 500)
        other4 = sum(v for k, v in st.items() if 400 <= k < 500 and k != 409)
        lat = r["latencies"]
        print(
            f"{r['level']:>11}  {st.get(201, 0) / args.seconds:>9.0f}"
            f"  {len(lat) / args.seconds:>9.0f}  {pct(lat, 50):>7.1f}  {pct(lat, 95):>7.1f}"
            f"  {pct(lat, 99):>7.1f}  {st.get(201, 0):>6}  {st.get(409, 0):>6}  {other4:>9}"
            f"  {five:>3}  {r['errors']:>11}  {r['load']:>8.2f}"
            f"  {r['server_cpu'] / args.seconds:>9.2f}c  {r['client_cpu'] / args.seconds:>9.2f}c"
        )
    print("(load avg: 1-minute, before the level; cpu: cores busy on average over the level)")
    lost = store["distinct_201"] - store["stored_for_201"]
    doubled = (
        (store["ballots"] - store["distinct_201"])
        + store["codes_twice"]
        + (store["answered_201"] - store["distinct_201"])
    )
    print(f"\nlost (201 answered, nothing stored): {lost}")
    print(f"doubled (ballots beyond one per 201'd code, codes stored twice): {doubled}")
    print(f"ballots {store['ballots']}, participations {store['participations']}")
    print("… pgbench: the two inserts of a cast in one transaction", flush=True)
    tps = run_pgbench(args.database_url, args.pgbench_clients, 10)
    if tps:
        best = max(r["statuses"].get(201, 0) / args.seconds for r in rows)
        print(
            f"pgbench {tps:.0f} casts/s with {args.pgbench_clients} clients; our best "
            f"{best:.0f} ballots/s = {best / tps:.1%} of it"
        )


if __name__ == "__main__":
    main()

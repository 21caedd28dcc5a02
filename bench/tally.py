"""Benchmark of the tally engine against pabutools 1.2.3 (prints figures, asserts nothing).

Each count is a whole process (interpreter start, imports, parsing, counting), run as a
subprocess: ``python -m pb.tally FILE --rule RULE --json`` for ours and
``tests/tally/pabutools_reference.py FILE RULE`` for pabutools. Then a synthetic round of
1,000,000 approval ballots x 200 projects is written to a temporary .pb file and counted.

    .venv/bin/python bench/tally.py            # everything
    .venv/bin/python bench/tally.py --quick    # skip pabutools MES on the two largest files
    .venv/bin/python bench/tally.py --no-synthetic
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = Path("/work/shared/data/pabulib")
FILES = ["Poland_Warszawa_2026", "Hungary_Budapest_2024"]
PY = sys.executable


def timed(cmd: list[str]) -> tuple[float, dict[str, object]]:
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{done.stderr}")
    return seconds, json.loads(done.stdout)


def ours(path: Path, rule: str) -> tuple[float, list[str]]:
    seconds, result = timed([PY, "-m", "pb.tally", str(path), "--rule", rule, "--json"])
    return seconds, sorted(result["winners"])  # type: ignore[arg-type]


def synthetic(path: Path, voters: int, projects: int, seed: int = 6) -> None:
    """Approval ballots of 1 to 10 projects, popularity skewed like real rounds."""
    rnd = random.Random(seed)
    ids = [str(i) for i in range(1, projects + 1)]
    weights = [1 / (i**0.7) for i in range(1, projects + 1)]
    costs = [rnd.randrange(10_000, 2_000_000, 100) for _ in ids]
    lines = ["META", "key;value", "description;synthetic", f"num_projects;{projects}"]
    lines += [f"num_votes;{voters}", f"budget;{sum(costs) // 4}", "vote_type;approval"]
    lines += ["PROJECTS", "project_id;cost"] + [f"{i};{c}" for i, c in zip(ids, costs, strict=True)]
    lines += ["VOTES", "voter_id;vote"]
    for v in range(voters):
        chosen = set(rnd.choices(ids, weights, k=rnd.randint(1, 10)))
        lines.append(f"{v};{','.join(chosen)}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip pabutools MES on big files")
    parser.add_argument("--no-synthetic", action="store_true")
    parser.add_argument("--voters", type=int, default=1_000_000)
    parser.add_argument("--projects", type=int, default=200)
    args = parser.parse_args()

    print(f"{'file':<24} {'rule':<7} {'ours s':>8} {'pabutools s':>12} {'ratio':>8}  same")
    for name in FILES:
        path = DATA / f"{name}.pb"
        for rule in ("greedy", "mes"):
            mine, winners = min((ours(path, rule) for _ in range(3)), key=lambda r: r[0])
            if args.quick and rule == "mes":
                print(f"{name:<24} {rule:<7} {mine:>8.3f} {'skipped':>12} {'':>8}  (--quick)")
                continue
            ref_s, ref = timed([PY, "tests/tally/pabutools_reference.py", str(path), rule])
            same = "yes" if ref["winners"] == winners else "NO"
            print(f"{name:<24} {rule:<7} {mine:>8.3f} {ref_s:>12.2f} {ref_s / mine:>7.0f}x  {same}")
    if args.no_synthetic:
        print("synthetic round skipped (--no-synthetic)")
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "synthetic.pb"
        started = time.perf_counter()
        synthetic(path, args.voters, args.projects)
        print(
            f"\nsynthetic: {args.voters:,} approval ballots x {args.projects} projects, "
            f"{path.stat().st_size / 1e6:.0f} MB written in {time.perf_counter() - started:.1f} s"
        )
        for rule in ("greedy", "mes"):
            seconds, winners = ours(path, rule)
            print(f"  {rule:<7} {seconds:8.2f} s  ({len(winners)} funded), whole process")


if __name__ == "__main__":
    main()

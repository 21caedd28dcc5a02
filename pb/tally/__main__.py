"""``python -m pb.tally FILE.pb --rule RULE [--min-share X] [--json]``.

Recomputes a round's result from its published ballots. Bad input exits with status 2 and a
one-line message naming the file, line and problem (never a traceback).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from fractions import Fraction

from pb.tally.model import TallyError, money_text, result_order
from pb.tally.pabulib import load
from pb.tally.rules import RULES, tally


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # one line, no usage block: the message is what a resident needs
        raise TallyError(message)


def parse_share(text: str) -> Fraction:
    """'0.05', '1/20' or '5%' -> Fraction(1, 20)."""
    raw = text.strip()
    try:
        if raw.endswith("%"):
            return Fraction(raw[:-1].strip()) / 100
        return Fraction(raw)
    except (ValueError, ZeroDivisionError):
        raise TallyError(f"--min-share is not a number: {text!r}") from None


def main(argv: Sequence[str] | None = None) -> int:
    parser = _Parser(
        prog="python -m pb.tally",
        description="Count a participatory budgeting round from a pabulib .pb file.",
    )
    parser.add_argument("file", help="the .pb file")
    parser.add_argument("--rule", required=True, help=f"one of {', '.join(RULES)}")
    parser.add_argument("--min-share", help="greedy-threshold: share of voters, e.g. 0.05 or 5%%")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    try:
        args = parser.parse_args(argv)
        if args.rule not in RULES:
            raise TallyError(f"unknown rule {args.rule!r} (expected one of {', '.join(RULES)})")
        share = parse_share(args.min_share) if args.min_share is not None else None
        election = load(args.file)
        outcome = tally(election, args.rule, min_share=share)
    except TallyError as exc:
        print(f"pb.tally: error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # a bug, not bad input: still one line, and a distinct status
        print(f"pb.tally: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 3
    if args.json:
        print(json.dumps(outcome.to_json(), ensure_ascii=False))
        return 0
    projects = {p.id: p for p in election.projects}
    print(
        f"{args.file}: rule {outcome.rule}, {outcome.num_voters:,} voters, "
        f"budget {money_text(outcome.budget)}, spent {money_text(outcome.total_cost)}"
    )
    print(f"{'rank':>4}  {'project':<12} {'cost':>14} {'score':>10}  {'result':<17} name")
    rows = sorted(
        outcome.explanations.values(), key=lambda e: result_order(e.rank, e.score, e.project_id)
    )
    for e in rows:
        p = projects[e.project_id]
        print(
            f"{e.rank or '':>4}  {e.project_id:<12} {money_text(p.cost):>14} {e.score:>10}  "
            f"{e.reason:<17} {p.name[:50]}"
        )
    print()
    for e in rows:
        print(f"{e.project_id}: {e.sentence}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

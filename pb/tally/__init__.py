"""The tally engine: exact, explained, pabulib-compatible counting of PB rounds.

Pure Python plus NumPy, no Django (DESIGN.md, "Pure maths stays pure")::

    from pb.tally import Election, Project, Vote, tally
    outcome = tally(election, "mes")
    outcome.winners, outcome.explanations["7"].sentence

Command line: ``python -m pb.tally FILE.pb --rule RULE [--min-share X] [--json]``.
"""

from __future__ import annotations

from pb.tally.model import Election, Explanation, Outcome, Project, TallyError, Vote
from pb.tally.rules import RULES, tally

__all__ = [
    "RULES",
    "Election",
    "Explanation",
    "Outcome",
    "Project",
    "TallyError",
    "Vote",
    "tally",
]

"""A count's result as pb stores and shows it: one typed value built from the engine's outcome.

It is stored as ``Tally.outcome`` (JSON, in the shape it has always had) and read back only
through :meth:`CountResult.from_json` (``pb.counting.selectors.tally_result``), so the count
page, the API, the outcome report and the decision-day screen read the same fields with the
same defaults. Each project's ``sentence`` is the engine's own (``pb.tally.explain``), word for
word, as ``python -m pb.tally`` prints it for the published ballot file. Money is in minor
units (pence). Pure Python: no Django.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from pb.tally.model import Outcome, result_order
from pb.tally.wording import Phrase


@dataclass(frozen=True)
class ProjectFacts:
    """What the count knows of a project besides its votes."""

    title: str
    cost: int
    theme: str = ""
    area: str = ""


@dataclass(frozen=True)
class ProjectResult:
    id: str
    title: str
    cost: int
    theme: str
    area: str
    score: int
    supporters: int
    funded: bool
    rank: int | None
    reason: str
    sentence: str
    #: The sentence as data, for readers of other languages (pb.counting.wording); counts
    #: stored before it existed have none and show ``sentence`` as it is.
    wording: Phrase | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "cost": str(self.cost),
            "theme": self.theme,
            "area": self.area,
            "score": self.score,
            "supporters": self.supporters,
            "funded": self.funded,
            "rank": self.rank,
            "reason": self.reason,
            "sentence": self.sentence,
            **({"wording": self.wording.to_json()} if self.wording else {}),
        }


def _int(value: Any) -> int:
    """Stored numbers are ints, or text for money; anything else reads as 0."""
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return 0


@dataclass(frozen=True)
class CountResult:
    rule: str
    vote_type: str
    budget: int
    total_cost: int
    voters: int
    #: In the order the rule chose them.
    winners: tuple[str, ...]
    #: Every project on the ballot, in :func:`pb.tally.model.result_order`.
    projects: tuple[ProjectResult, ...]

    @classmethod
    def from_outcome(
        cls,
        outcome: Outcome,
        *,
        vote_type: str,
        budget: int,
        voters: int,
        minor_units: int,
        facts: Mapping[str, ProjectFacts],
    ) -> CountResult:
        """The engine's outcome (counted in whole units) with each project's facts."""
        projects = []
        for pid, known in facts.items():
            exp = outcome.explanations[pid]
            projects.append(
                ProjectResult(
                    id=pid,
                    title=known.title,
                    cost=known.cost,
                    theme=known.theme,
                    area=known.area,
                    score=int(exp.score),
                    supporters=int(exp.supporters),
                    funded=bool(exp.funded),
                    rank=exp.rank,
                    reason=exp.reason,
                    sentence=exp.sentence,
                    wording=exp.wording,
                )
            )
        return cls(
            rule=outcome.rule,
            vote_type=vote_type,
            budget=budget,
            total_cost=int(outcome.total_cost * Fraction(minor_units)),
            voters=voters,
            winners=tuple(outcome.winners),
            projects=_ordered(projects),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "vote_type": self.vote_type,
            "budget": str(self.budget),
            "total_cost": str(self.total_cost),
            "voters": self.voters,
            "winners": list(self.winners),
            "projects": {p.id: p.to_json() for p in sorted(self.projects, key=lambda p: p.id)},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> CountResult:
        """The one reader of a stored outcome; missing fields read as empty."""
        data = data or {}
        projects = [
            ProjectResult(
                id=str(pid),
                title=str(p.get("title") or f"Project {pid}"),
                cost=_int(p.get("cost")),
                theme=str(p.get("theme") or ""),
                area=str(p.get("area") or ""),
                score=_int(p.get("score")),
                supporters=_int(p.get("supporters")),
                funded=bool(p.get("funded")),
                rank=_int(p["rank"]) if p.get("rank") is not None else None,
                reason=str(p.get("reason") or ("funded" if p.get("funded") else "")),
                sentence=str(p.get("sentence") or ""),
                wording=Phrase.from_json(p.get("wording")),
            )
            for pid, p in (data.get("projects") or {}).items()
        ]
        return cls(
            rule=str(data.get("rule") or ""),
            vote_type=str(data.get("vote_type") or ""),
            budget=_int(data.get("budget")),
            total_cost=_int(data.get("total_cost")),
            voters=_int(data.get("voters")),
            winners=tuple(str(w) for w in data.get("winners") or ()),
            projects=_ordered(projects),
        )

    @property
    def funded(self) -> tuple[ProjectResult, ...]:
        return tuple(p for p in self.projects if p.funded)


def _ordered(projects: list[ProjectResult]) -> tuple[ProjectResult, ...]:
    return tuple(sorted(projects, key=lambda p: result_order(p.rank, p.score, p.id)))

"""Money the areas leave unspent after their counts, and where it goes. Pure Python: no Django.

Each area of a city round is counted on its own money (the Porto Alegre split), and a count
rarely spends every penny. The round says what happens to what is left (``Round.unspent_money``):

- ``carry``: each area's leftover is carried to the council's next round;
- ``second_pass``: the leftovers of every area are pooled, and the pot funds the projects that
  were not funded, best first, each if it fits in what is still left of the pot (a project that
  does not fit is skipped, as the greedy rule skips it). What the second pass does not spend is
  carried to the next round.

"Best" compares projects of areas of different sizes fairly: by the share of their own area's
voters who supported them, then by the number of supporters, then by project id. A project
nobody voted for, or one below the round's minimum support (the threshold rule), is never
funded by the second pass. Money is in minor units (pence), as in :mod:`pb.counting.result`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction
from typing import Any

from pb.counting.result import CountResult, ProjectResult
from pb.tally.model import natural_key


class Policy(StrEnum):
    CARRY = "carry"
    SECOND_PASS = "second_pass"  # noqa: S105 (a policy, not a password)


#: Why a project was not funded that keeps it out of the second pass as well.
NOT_FOR_SECOND_PASS = frozenset({"no_support", "below_threshold"})


@dataclass(frozen=True)
class AreaMoney:
    """One counted area's money: what it had, what its own count spent, what it left."""

    area: str
    budget: int
    spent: int

    @property
    def left(self) -> int:
        return max(0, self.budget - self.spent)


@dataclass(frozen=True)
class SecondPassProject:
    """A project the pooled leftovers funded, with the support that put it where it came."""

    id: str
    title: str
    area: str
    cost: int
    supporters: int
    voters: int


@dataclass(frozen=True)
class Unspent:
    policy: str
    areas: tuple[AreaMoney, ...]
    #: In the order the second pass funded them (empty when the money is carried).
    funded: tuple[SecondPassProject, ...]

    @property
    def second_pass(self) -> bool:
        """The money was pooled for a second pass across areas (else it is carried)."""
        return self.policy == Policy.SECOND_PASS

    @property
    def pot(self) -> int:
        """Everything the areas' own counts left unspent."""
        return sum(a.left for a in self.areas)

    @property
    def second_pass_spent(self) -> int:
        return sum(p.cost for p in self.funded)

    @property
    def carried(self) -> int:
        """What goes on to the council's next round."""
        return self.pot - self.second_pass_spent

    @property
    def funded_ids(self) -> frozenset[str]:
        return frozenset(p.id for p in self.funded)

    def to_json(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "areas": [
                {"area": a.area, "budget": a.budget, "spent": a.spent, "left": a.left}
                for a in self.areas
            ],
            "funded": [
                {
                    "id": p.id,
                    "title": p.title,
                    "area": p.area,
                    "cost": p.cost,
                    "supporters": p.supporters,
                    "voters": p.voters,
                }
                for p in self.funded
            ],
            "pot": self.pot,
            "second_pass_spent": self.second_pass_spent,
            "carried": self.carried,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Unspent:
        return cls(
            policy=str(data.get("policy") or Policy.CARRY),
            areas=tuple(
                AreaMoney(area=str(a["area"]), budget=int(a["budget"]), spent=int(a["spent"]))
                for a in data.get("areas") or ()
            ),
            funded=tuple(
                SecondPassProject(
                    id=str(p["id"]),
                    title=str(p["title"]),
                    area=str(p["area"]),
                    cost=int(p["cost"]),
                    supporters=int(p["supporters"]),
                    voters=int(p["voters"]),
                )
                for p in data.get("funded") or ()
            ),
        )


def _share(project: ProjectResult, voters: int) -> Fraction:
    return Fraction(project.supporters, voters) if voters else Fraction(0)


def unspent_money(counts: Sequence[tuple[str, CountResult]], policy: str) -> Unspent:
    """Where the money each area's count left goes, under ``policy``.

    ``counts`` is each counted area's name with its result. The areas' own results are not
    changed: the second pass is a step after them, so each area's published count (and its
    recount from the published ballots) stays what the engine decided.
    """
    areas = tuple(
        AreaMoney(area=name, budget=result.budget, spent=result.total_cost)
        for name, result in counts
    )
    if policy != Policy.SECOND_PASS:
        return Unspent(policy=str(Policy.CARRY), areas=areas, funded=())
    candidates = [
        (name, result.voters, p)
        for name, result in counts
        for p in result.projects
        if not p.funded and p.supporters > 0 and p.reason not in NOT_FOR_SECOND_PASS
    ]
    candidates.sort(key=lambda c: (-_share(c[2], c[1]), -c[2].supporters, natural_key(c[2].id)))
    left = sum(a.left for a in areas)
    funded: list[SecondPassProject] = []
    for name, voters, p in candidates:
        if p.cost <= left:
            left -= p.cost
            funded.append(
                SecondPassProject(
                    id=p.id,
                    title=p.title,
                    area=p.area or name,
                    cost=p.cost,
                    supporters=p.supporters,
                    voters=voters,
                )
            )
    return Unspent(policy=str(Policy.SECOND_PASS), areas=areas, funded=tuple(funded))

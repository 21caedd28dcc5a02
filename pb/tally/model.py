"""Plain data for the tally engine: projects, votes, elections and outcomes.

Everything here is immutable and exact: money is ``fractions.Fraction``, points are ``int``.
Nothing imports Django (DESIGN.md, "Pure maths stays pure").
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from pb.tally.wording import Phrase

VOTE_TYPES = ("approval", "choose-1", "cumulative", "scoring", "ordinal")


class TallyError(Exception):
    """Bad input to the tally engine (file, line, project, rule...).

    The message is one line meant for a person: it names the file and line when there is one,
    and the problem.
    """


def as_money(value: Fraction | int | str, what: str = "amount") -> Fraction:
    """Exact money from an int, a Fraction or a decimal text ("827838.5", "12,5")."""
    if isinstance(value, bool):
        raise TallyError(f"{what} must be a number, not {value!r}")
    if isinstance(value, int | Fraction):
        return Fraction(value)
    if isinstance(value, str):
        try:
            return Fraction(value.strip().replace(",", "."))
        except (ValueError, ZeroDivisionError):
            raise TallyError(f"{what} is not a number: {value!r}") from None
    raise TallyError(f"{what} must be an int, a Fraction or a decimal text, not {value!r}")


@dataclass(frozen=True)
class Project:
    """A project on the ballot.

    ``id`` is the text identifier used on ballots; ties are broken by comparing ids as text.
    ``extra`` keeps any other columns of a pabulib PROJECTS row (votes, selected, ...), so that a
    file read and written again keeps them.
    """

    id: str
    cost: Fraction
    name: str = ""
    category: str = ""
    extra: Mapping[str, str] = field(default_factory=dict, compare=True, hash=False)

    def __init__(
        self,
        id: str,
        cost: Fraction | int | str,
        name: str = "",
        category: str = "",
        extra: Mapping[str, str] | None = None,
    ) -> None:
        if not isinstance(id, str) or not id.strip() or id != id.strip():
            raise TallyError(f"project id must be a non-empty text without outer spaces: {id!r}")
        if "," in id or ";" in id:
            raise TallyError(f"project id {id!r} must not contain ',' or ';'")
        money = as_money(cost, f"cost of project {id}")
        if money < 0:
            raise TallyError(f"project {id} has a negative cost ({cost})")
        object.__setattr__(self, "id", id)
        object.__setattr__(self, "cost", money)
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "category", category)
        object.__setattr__(self, "extra", dict(extra or {}))


def _ballot_key(points: Mapping[str, int] | Sequence[str]) -> tuple[Any, ...]:
    if isinstance(points, Mapping):
        return ("points", tuple(sorted(points.items())))
    return ("ranking", tuple(points))


@dataclass(frozen=True)
class Vote:
    """One ballot, counted ``multiplicity`` times.

    ``points`` is ``{project id: points}`` for approval/choose-1 (points 1), cumulative and
    scoring ballots, or a sequence of project ids, best first, for ordinal ballots. For
    approval/choose-1 a sequence of ids is accepted and means "approves these".
    """

    points: Mapping[str, int] | tuple[str, ...]
    multiplicity: int = 1

    def __init__(self, points: Mapping[str, int] | Sequence[str], multiplicity: int = 1) -> None:
        if isinstance(points, str):
            raise TallyError(f"a vote is a mapping or a sequence of ids, not the text {points!r}")
        if not isinstance(multiplicity, int) or isinstance(multiplicity, bool) or multiplicity < 1:
            raise TallyError(f"vote multiplicity must be a positive integer, not {multiplicity!r}")
        value: Mapping[str, int] | tuple[str, ...]
        if isinstance(points, Mapping):
            for pid, pts in points.items():
                if not isinstance(pts, int) or isinstance(pts, bool) or pts < 0:
                    raise TallyError(f"points for project {pid} must be a non-negative integer")
            value = dict(points)
        else:
            value = tuple(points)
            if len(set(value)) != len(value):
                raise TallyError(f"a ranking lists a project twice: {','.join(value)}")
        object.__setattr__(self, "points", value)
        object.__setattr__(self, "multiplicity", multiplicity)

    def key(self) -> tuple[Any, ...]:
        """What the ballot says, without its multiplicity (identical ballots have equal keys)."""
        return _ballot_key(self.points)

    def __hash__(self) -> int:
        return hash((self.key(), self.multiplicity))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Vote):
            return NotImplemented
        return self.multiplicity == other.multiplicity and self.key() == other.key()


# META keys that are fields of Election itself (written back from the fields by dumps).
STRUCTURAL_META = ("budget", "vote_type", "num_projects", "num_votes")


@dataclass(frozen=True)
class BallotTable:
    """Distinct ballots in compact form, the shape the rules count on.

    ``ballots[g]`` lists project *indices* (positions in ``Election.projects``) in ballot order
    (best first for rankings); ``points[g]`` the points given to each (cumulative and scoring
    ballots; None for approval/choose-1, where each listed project scores 1, and for rankings,
    where position p on a ballot of length k scores k - p - 1); ``mult[g]`` how many voters
    cast ballot g. Identical ballots are merged where cheap to see (the same text in a file, the
    same set or ranking among ``Vote`` objects); counting never relies on it.
    """

    ballots: list[tuple[int, ...]]
    points: list[tuple[int, ...]] | None
    mult: list[int]

    @property
    def num_voters(self) -> int:
        return sum(self.mult)


class Election:
    """Projects, a budget and ballots: everything a rule needs.

    Invariants (checked, ``TallyError`` otherwise): project ids are unique; every vote names
    known projects only; ``vote_type`` is one of ``VOTE_TYPES``; the budget is not negative.
    ``meta`` holds the other pabulib META entries (budget, vote_type, num_projects and
    num_votes are fields, not meta).

    Two elections are equal when they have the same projects (in order), budget, vote type,
    meta and the same *multiset* of ballots: splitting or merging identical ballots (the
    multiplicity) does not change an election.

    ``votes`` and the compact ``table()`` are two views of the same ballots; each is built from
    the other on first use, so a parsed file is counted without making one object per voter.
    """

    __slots__ = ("_table", "_votes", "budget", "meta", "projects", "vote_type")

    projects: tuple[Project, ...]
    budget: Fraction
    vote_type: str
    meta: Mapping[str, str]
    _votes: tuple[Vote, ...] | None
    _table: BallotTable | None

    def __init__(
        self,
        projects: Sequence[Project],
        budget: Fraction | int | str,
        votes: Sequence[Vote],
        vote_type: str,
        meta: Mapping[str, str] | None = None,
    ) -> None:
        self._setup(projects, budget, vote_type, meta)
        votes = tuple(votes)
        ids = {p.id for p in self.projects}
        ordinal = vote_type == "ordinal"
        for v in votes:
            if not isinstance(v, Vote):
                raise TallyError(f"votes must be Vote objects, not {type(v).__name__}")
            if ordinal and isinstance(v.points, Mapping):
                raise TallyError("ordinal elections need ranked ballots (sequences of ids)")
            for pid in v.points:
                if pid not in ids:
                    raise TallyError(f"a vote names unknown project {pid}")
        object.__setattr__(self, "_votes", votes)
        object.__setattr__(self, "_table", None)

    def _setup(
        self,
        projects: Sequence[Project],
        budget: Fraction | int | str,
        vote_type: str,
        meta: Mapping[str, str] | None,
    ) -> None:
        if vote_type not in VOTE_TYPES:
            raise TallyError(
                f"unknown vote_type {vote_type!r} (expected one of {', '.join(VOTE_TYPES)})"
            )
        money = as_money(budget, "budget")
        if money < 0:
            raise TallyError(f"the budget is negative ({budget})")
        projects = tuple(projects)
        seen: set[str] = set()
        for p in projects:
            if p.id in seen:
                raise TallyError(f"project {p.id} is listed twice")
            seen.add(p.id)
        object.__setattr__(self, "projects", projects)
        object.__setattr__(self, "budget", money)
        object.__setattr__(self, "vote_type", vote_type)
        object.__setattr__(
            self, "meta", {k: v for k, v in (meta or {}).items() if k not in STRUCTURAL_META}
        )

    @classmethod
    def from_table(
        cls,
        projects: Sequence[Project],
        budget: Fraction | int | str,
        table: BallotTable,
        vote_type: str,
        meta: Mapping[str, str] | None = None,
    ) -> Election:
        """An election from already-validated compact ballots (the pabulib reader uses this)."""
        self = cls.__new__(cls)
        self._setup(projects, budget, vote_type, meta)
        object.__setattr__(self, "_votes", None)
        object.__setattr__(self, "_table", table)
        return self

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Election is immutable")

    @property
    def votes(self) -> tuple[Vote, ...]:
        if self._votes is None:
            ids = [p.id for p in self.projects]
            t = self._table
            assert t is not None
            votes: list[Vote] = []
            if self.vote_type == "ordinal":
                for b, m in zip(t.ballots, t.mult, strict=True):
                    votes.append(Vote([ids[i] for i in b], m))
            elif t.points is None:
                for b, m in zip(t.ballots, t.mult, strict=True):
                    votes.append(Vote({ids[i]: 1 for i in b}, m))
            else:
                for b, pts, m in zip(t.ballots, t.points, t.mult, strict=True):
                    votes.append(Vote({ids[i]: x for i, x in zip(b, pts, strict=True)}, m))
            object.__setattr__(self, "_votes", tuple(votes))
        assert self._votes is not None
        return self._votes

    def table(self) -> BallotTable:
        """The ballots in compact form, identical ballots merged (built once, then cached)."""
        if self._table is None:
            index = {p.id: i for i, p in enumerate(self.projects)}
            position: dict[tuple[Any, ...], int] = {}
            ballots: list[tuple[int, ...]] = []
            points: list[tuple[int, ...]] = []
            mult: list[int] = []
            cardinal = self.vote_type in ("cumulative", "scoring")
            for v in self.votes:
                if isinstance(v.points, Mapping):
                    items = sorted((index[pid], x) for pid, x in v.points.items())
                    if cardinal:
                        key: tuple[Any, ...] = tuple(items)
                    else:  # approval: any positive points approve
                        key = tuple(i for i, x in items if x > 0)
                else:
                    if self.vote_type == "ordinal":
                        key = tuple(index[pid] for pid in v.points)
                    elif cardinal:
                        raise TallyError(f"{self.vote_type} ballots need points per project")
                    else:
                        key = tuple(sorted(index[pid] for pid in v.points))
                g = position.get(key)
                if g is None:
                    position[key] = len(ballots)
                    if cardinal:
                        ballots.append(tuple(i for i, _ in key))
                        points.append(tuple(x for _, x in key))
                    else:
                        ballots.append(key)
                    mult.append(v.multiplicity)
                else:
                    mult[g] += v.multiplicity
            object.__setattr__(
                self, "_table", BallotTable(ballots, points if cardinal else None, mult)
            )
        assert self._table is not None
        return self._table

    @property
    def num_voters(self) -> int:
        """Number of ballots, counting multiplicity (empty ballots included)."""
        if self._table is not None:
            return self._table.num_voters
        return sum(v.multiplicity for v in self.votes)

    def ballot_counts(self) -> Counter[tuple[Any, ...]]:
        """Multiset of ballots: (ids, points) -> total multiplicity.

        Approval ballots are sets (ids sorted); rankings keep their order; cumulative and
        scoring ballots are (id, points) pairs sorted by id.
        """
        t = self.table()
        ids = [p.id for p in self.projects]
        counts: Counter[tuple[Any, ...]] = Counter()
        if t.points is None:
            ordered = self.vote_type == "ordinal"
            for b, m in zip(t.ballots, t.mult, strict=True):
                names = tuple(ids[i] for i in b)
                counts[names if ordered else tuple(sorted(names))] += m
        else:
            for b, pts, m in zip(t.ballots, t.points, t.mult, strict=True):
                counts[tuple(sorted((ids[i], x) for i, x in zip(b, pts, strict=True)))] += m
        return counts

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Election):
            return NotImplemented
        return (
            self.projects == other.projects
            and self.budget == other.budget
            and self.vote_type == other.vote_type
            and dict(self.meta) == dict(other.meta)
            and self.ballot_counts() == other.ballot_counts()
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"Election({len(self.projects)} projects, budget {self.budget}, "
            f"{self.num_voters} voters, {self.vote_type})"
        )


REASONS = ("funded", "did_not_fit", "below_threshold", "shares_exhausted", "no_support")


@dataclass(frozen=True)
class Explanation:
    """Why one project was or was not funded.

    ``rank`` is the 1-based position in the selection order (None when not funded); ``score``
    the total score (approvals, points or Borda score); ``supporters`` the number of voters who
    gave it a positive score; ``paid_by_supporters`` what its supporters paid from their equal
    shares (MES rules only, None otherwise); ``reason`` one of ``REASONS``; ``sentence`` the
    same in plain English for a resident.
    """

    project_id: str
    funded: bool
    rank: int | None
    score: int
    supporters: int
    reason: str
    sentence: str
    paid_by_supporters: Fraction | None = None
    phase: str = ""  # "mes" or "completion" for MES rules; "" otherwise
    #: ``sentence`` as data (pb.tally.wording), so the site can say it in a reader's language.
    wording: Phrase | None = field(default=None, compare=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "funded": self.funded,
            "rank": self.rank,
            "score": self.score,
            "supporters": self.supporters,
            "reason": self.reason,
            "paid_by_supporters": None
            if self.paid_by_supporters is None
            else money_text(self.paid_by_supporters),
            "phase": self.phase,
            "sentence": self.sentence,
        }


def money_text(value: Fraction) -> str:
    """Exact text for an amount: "12", "827838.5", or "1/3" when no finite decimal exists."""
    if value.denominator == 1:
        return str(value.numerator)
    den = value.denominator
    twos = fives = 0
    while den % 2 == 0:
        den //= 2
        twos += 1
    while den % 5 == 0:
        den //= 5
        fives += 1
    if den != 1:
        return f"{value.numerator}/{value.denominator}"
    digits = max(twos, fives)
    scaled = value * 10**digits
    sign = "-" if scaled < 0 else ""
    whole, frac = divmod(abs(scaled.numerator), 10**digits)
    return f"{sign}{whole}.{str(frac).rjust(digits, '0')}"


def natural_key(text: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key putting "2" before "10" (digits compared as numbers, the rest as text)."""
    import re

    return tuple(
        (0, int(part)) if part.isdigit() else (1, part)
        for part in re.split(r"(\d+)", text)
        if part != ""
    )


def result_order(rank: int | None, score: int, project_id: str) -> tuple[Any, ...]:
    """The one order a result is shown in, everywhere: funded projects as they were chosen,
    then the rest by score, most first; ties by project id in natural order."""
    return (rank is None, rank or 0, -score, natural_key(project_id))


@dataclass(frozen=True)
class Outcome:
    """The result of a rule: winners in selection order and an explanation for every project."""

    rule: str
    winners: tuple[str, ...]
    total_cost: Fraction
    budget: Fraction
    explanations: dict[str, Explanation]
    num_voters: int
    min_share: Fraction | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict: winners sorted naturally, exact money as text, one sentence each."""
        return {
            "rule": self.rule,
            "winners": sorted(self.winners, key=natural_key),
            "selection_order": list(self.winners),
            "total_cost": money_text(self.total_cost),
            "budget": money_text(self.budget),
            "num_voters": self.num_voters,
            "min_share": None if self.min_share is None else str(self.min_share),
            "explanations": {
                pid: e.sentence
                for pid, e in sorted(self.explanations.items(), key=lambda kv: natural_key(kv[0]))
            },
            "projects": {
                pid: e.to_json()
                for pid, e in sorted(self.explanations.items(), key=lambda kv: natural_key(kv[0]))
            },
            **({"details": dict(self.details)} if self.details else {}),
        }


# --- Between a rule and its explanation (pb.tally.rules -> pb.tally.explain) -----------------


@dataclass
class Counted:
    """What every rule needs, computed once: scores, supporters, the greedy order."""

    election: Election
    ids: list[str]
    costs: list[Fraction]
    scores: list[int]
    supporters: list[int]
    num_voters: int
    tie: list[int]  # rank of each project when ids are sorted as text
    by_score: list[int]  # project indices by decreasing score, then id as text


@dataclass
class Decision:
    """Internal result of a rule before it is explained."""

    winners: list[int]
    reasons: dict[int, str]
    phase: dict[int, str]
    paid: dict[int, Fraction]
    # for did_not_fit: money left when the project's turn came
    left_at_turn: dict[int, Fraction]
    stopped_at: int | None = None
    threshold: int | None = None
    details: dict[str, Any] | None = None

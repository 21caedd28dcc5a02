"""Read and write pabulib ``.pb`` files (https://pabulib.org/format).

A file has three sections, META (``key;value``), PROJECTS (``project_id;cost;...``) and VOTES
(``voter_id;vote[;points];...``); fields are separated by semicolons and may be quoted with
doubled quotes inside. Voter rows are read as anonymous ballots: voter ids and voter attributes
(age, sex, ...) are not kept, identical ballots are merged. Other PROJECTS columns (votes,
score, selected, ...) are kept in ``Project.extra``.

Errors raise ``TallyError`` naming the file, the line and the problem.
"""

from __future__ import annotations

import csv
import os
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from fractions import Fraction
from itertools import accumulate
from typing import Any

from pb.tally.model import (
    VOTE_TYPES,
    BallotTable,
    Election,
    Project,
    TallyError,
    money_text,
)

SECTIONS = ("meta", "projects", "votes")
_SECTION_FIRST = frozenset('mpvMPV" \t')


def _fields(line: str) -> list[str]:
    if '"' in line:
        return [f.strip() for f in next(csv.reader([line], delimiter=";"))]
    return [f.strip() for f in line.split(";")]


def _value(text: str) -> str:
    """A field as pabutools reads it: ``None`` in any case is a missing value (some files write
    an empty vote, or an unknown category, that way)."""
    text = text.strip()
    return "" if text.lower() == "none" else text


def _money(text: str, where: str, what: str) -> Fraction:
    try:
        return Fraction(text.strip().replace(",", "."))
    except (ValueError, ZeroDivisionError):
        raise TallyError(f"{where}: {what} is not a number: {text!r}") from None


def load(path: str | os.PathLike[str]) -> Election:
    """Read a ``.pb`` file. ``TallyError`` if it is missing, unreadable or malformed."""
    name = os.fspath(path)
    try:
        with open(name, encoding="utf-8-sig", newline="") as f:
            text = f.read()
    except FileNotFoundError:
        raise TallyError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise TallyError(f"{name}: is a directory, not a .pb file") from None
    except UnicodeDecodeError as exc:
        raise TallyError(f"{name}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise TallyError(f"{name}: cannot be read ({exc.strerror})") from None
    return loads(text, source=name)


def loads(text: str, source: str = "<text>") -> Election:
    """Parse the text of a ``.pb`` file into an ``Election``.

    ``source`` names the text in error messages (``"FILE:LINE: problem"``).
    """
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = text.splitlines()
    # Find the three sections first: META and PROJECTS are small, VOTES is read in bulk.
    starts: dict[str, int] = {}
    for n, line in enumerate(lines):
        # cheap first-character test: vote lines (nearly all lines) start with a voter id
        if line[:1] not in _SECTION_FIRST:
            continue
        head = line.split(";", 1)[0].strip().strip('"').lower()
        if head in SECTIONS and (";" not in line or not line.split(";", 1)[1].strip()):
            if head in starts:
                raise TallyError(f"{source}:{n + 1}: second {head.upper()} section")
            starts[head] = n
    for section in SECTIONS:
        if section not in starts:
            raise TallyError(f"{source}: no {section.upper()} section")
    order = sorted(starts, key=starts.__getitem__)
    bounds = {
        s: (starts[s], starts[order[i + 1]] if i + 1 < len(order) else len(lines))
        for i, s in enumerate(order)
    }

    def rows(section: str) -> Iterator[tuple[int, list[str]]]:
        first, end = bounds[section]
        for n in range(first + 2, end):
            line = lines[n]
            if line.strip():
                yield n + 1, _fields(line)

    def header(section: str) -> list[str]:
        first, end = bounds[section]
        if first + 1 >= end or not lines[first + 1].strip():
            raise TallyError(f"{source}:{first + 2}: {section.upper()} has no header line")
        return [h.strip().lower() for h in _fields(lines[first + 1])]

    # META
    meta: dict[str, str] = {}
    for lineno, row in rows("meta"):
        if len(row) < 2:
            raise TallyError(f"{source}:{lineno}: META line needs 'key;value'")
        meta[row[0]] = row[1]
    for key in ("budget", "vote_type"):
        if key not in meta:
            raise TallyError(f"{source}: META has no {key}")
    vote_type = meta["vote_type"].strip().lower()
    if vote_type not in VOTE_TYPES:
        raise TallyError(
            f"{source}: unknown vote_type {meta['vote_type']!r} (expected {', '.join(VOTE_TYPES)})"
        )
    budget = _money(meta["budget"], f"{source}: META", "budget")
    if budget < 0:
        raise TallyError(f"{source}: META budget is negative ({meta['budget']})")

    # PROJECTS
    cols = header("projects")
    for needed in ("project_id", "cost"):
        if needed not in cols:
            raise TallyError(f"{source}:{bounds['projects'][0] + 2}: PROJECTS has no {needed}")
    raw_cols = _fields(lines[bounds["projects"][0] + 1])
    projects: list[Project] = []
    index: dict[str, int] = {}
    for lineno, row in rows("projects"):
        if len(row) != len(cols):
            raise TallyError(
                f"{source}:{lineno}: PROJECTS line has {len(row)} fields, header has {len(cols)}"
            )
        # pabutools names a project by its first field, whatever it says.
        rec = {c: v if c == "project_id" else _value(v) for c, v in zip(cols, row, strict=True)}
        pid = rec["project_id"]
        if not pid:
            raise TallyError(f"{source}:{lineno}: empty project_id")
        if pid in index:
            raise TallyError(f"{source}:{lineno}: project {pid} is listed twice")
        cost = _money(rec["cost"], f"{source}:{lineno}", f"cost of project {pid}")
        if cost < 0:
            raise TallyError(f"{source}:{lineno}: project {pid} has a negative cost ({cost})")
        extra = {
            raw_cols[i]: v
            for i, (c, v) in enumerate(zip(cols, row, strict=True))
            if c not in ("project_id", "cost", "name", "category") and _value(v) != ""
        }
        try:
            project = Project(pid, cost, rec.get("name", ""), rec.get("category", ""), extra)
        except TallyError as exc:
            raise TallyError(f"{source}:{lineno}: {exc}") from None
        index[pid] = len(projects)
        projects.append(project)

    # VOTES: count identical (vote, points) texts once, then parse each distinct one.
    vcols = header("votes")
    if "vote" not in vcols:
        raise TallyError(f"{source}:{bounds['votes'][0] + 2}: VOTES has no 'vote' column")
    cardinal = vote_type in ("cumulative", "scoring")
    vi = vcols.index("vote")
    pi = vcols.index("points") if "points" in vcols else None
    if cardinal and pi is None:
        raise TallyError(f"{source}:{bounds['votes'][0] + 2}: {vote_type} VOTES need 'points'")
    width = len(vcols)
    first, end = bounds["votes"]
    body = lines[first + 2 : end]
    sep = width - 1
    # Lines with quotes or the wrong number of fields take the slow path (or fail).
    odd = [k for k, line in enumerate(body) if '"' in line or line.count(";") != sep]
    rows_of: list[list[str]]
    if odd:
        rows_of = []
        for k, line in enumerate(body):
            if not line.strip():
                continue
            row = _fields(line) if '"' in line else line.split(";")
            if len(row) != width:
                raise TallyError(
                    f"{source}:{first + 3 + k}: VOTES line has {len(row)} fields, "
                    f"header has {width}"
                )
            rows_of.append(row)
        if pi is None:
            raw: Counter[Any] = Counter(row[vi] for row in rows_of)
        else:
            raw = Counter((row[vi], row[pi]) for row in rows_of)
    elif pi is None:
        raw = Counter([line.split(";")[vi] for line in body])
    else:
        raw = Counter([(r[vi], r[pi]) for r in (line.split(";") for line in body)])
    counts: Counter[Any] = Counter()
    for key, m in raw.items():
        counts[_value(key) if pi is None else (_value(key[0]), _value(key[1]))] += m

    def line_of(key: Any) -> int:
        """First line carrying a given ballot text (only looked up to report an error)."""
        for n in range(first + 2, end):
            line = lines[n]
            if not line.strip():
                continue
            row = [_value(f) for f in (_fields(line) if '"' in line else line.split(";"))]
            if (row[vi] if pi is None else (row[vi], row[pi])) == key:
                return n + 1
        return first + 2

    ordinal = vote_type == "ordinal"
    if pi is None:
        fast = _fast_ballots(counts, index, ordinal)
        if fast is not None:
            table = BallotTable(fast[0], None, fast[1])
            meta["vote_type"] = vote_type
            return Election.from_table(projects, budget, table, vote_type, meta)
    ballots: list[tuple[int, ...]] = []
    points: list[tuple[int, ...]] = []
    mult: list[int] = []
    get = index.get
    for key, m in counts.items():
        vote_text = key if pi is None else key[0]
        names = vote_text.split(",") if vote_text else []
        ids = [get(x, -1) for x in names]
        if -1 in ids:
            names = [x.strip() for x in names]
            ids = [get(x, -1) for x in names]
        if -1 in ids:
            unknown = names[ids.index(-1)]
            what = "an empty project id" if not unknown else f"unknown project {unknown!r}"
            raise TallyError(f"{source}:{line_of(key)}: vote for {what}")
        if cardinal:
            pts_text = key[1]
            pts_names = [x.strip() for x in pts_text.split(",")] if pts_text else []
            if len(pts_names) != len(ids):
                raise TallyError(
                    f"{source}:{line_of(key)}: {len(ids)} projects but {len(pts_names)} points"
                )
            try:
                pts = tuple(int(x) for x in pts_names)
            except ValueError:
                raise TallyError(
                    f"{source}:{line_of(key)}: points must be whole numbers: {pts_text!r}"
                ) from None
            if any(x < 0 for x in pts):
                raise TallyError(f"{source}:{line_of(key)}: negative points: {pts_text!r}")
            if len(set(ids)) != len(ids):
                # "579,579,579,579;1,1,1,1" (Czestochowa 2020): the points add up, as in the
                # file's own score column (pabutools keeps only the last, 1 point; the outcome
                # is the same there).
                merged: dict[int, int] = {}
                for i, x in zip(ids, pts, strict=True):
                    merged[i] = merged.get(i, 0) + x
                ids, pts = list(merged), tuple(merged.values())
            ballots.append(tuple(ids))
            points.append(pts)
        elif ordinal:
            if len(set(ids)) != len(ids):
                raise TallyError(f"{source}:{line_of(key)}: a ranking lists a project twice")
            ballots.append(tuple(ids))
        else:
            # An approval ballot is a set: pabutools reads a repeated id once, so do we.
            ballots.append(tuple(sorted(set(ids))))
        mult.append(m)
    table = BallotTable(ballots, points if cardinal else None, mult)
    meta["vote_type"] = vote_type
    return Election.from_table(projects, budget, table, vote_type, meta)


def _fast_ballots(
    counts: Counter[str], index: dict[str, int], ordinal: bool
) -> tuple[list[tuple[int, ...]], list[int]] | None:
    """Approval and ordinal ballots in bulk (one split, one map); None if anything is off.

    The slow loop in ``loads`` then redoes the work and reports the problem with its line.
    """
    keys = list(counts)
    present = [k for k in keys if k]
    try:
        flat = list(map(index.__getitem__, ",".join(present).split(","))) if present else []
    except KeyError:
        return None
    sizes = [k.count(",") + 1 if k else 0 for k in keys]
    ends = list(accumulate(sizes))
    ballots = [tuple(flat[e - n : e]) for e, n in zip(ends, sizes, strict=True)]
    for g in [g for g, b in enumerate(ballots) if len(set(b)) != len(b)]:
        if ordinal:
            return None
        ballots[g] = tuple(sorted(set(ballots[g])))  # approval: a repeated id counts once
    return ballots, list(counts.values())


def _quote(value: str) -> str:
    if any(c in value for c in ';"\n\r') or value != value.strip():
        return '"' + value.replace('"', '""') + '"'
    return value


def dumps(election: Election, voter_ids: Sequence[str] | None = None) -> str:
    """The election as ``.pb`` text: one VOTES line per voter (multiplicity expanded).

    META keeps the election's meta, then num_projects, num_votes, budget and vote_type from the
    election itself. Voter ids are 1, 2, 3, ... in ballot order, or ``voter_ids`` (one per
    voter, in the order of ``election.votes`` with multiplicities expanded: a published ballot
    file uses receipt hashes so each voter can find their own). ``loads(dumps(e)) == e``.
    """
    if voter_ids is not None and len(voter_ids) != election.num_voters:
        raise TallyError(f"{len(voter_ids)} voter ids given for {election.num_voters} voters")
    out: list[str] = ["META", "key;value"]
    meta = dict(election.meta)
    meta["num_projects"] = str(len(election.projects))
    meta["num_votes"] = str(election.num_voters)
    meta["budget"] = money_text(election.budget)
    meta["vote_type"] = election.vote_type
    out.extend(f"{_quote(k)};{_quote(v)}" for k, v in meta.items())

    extra_cols: list[str] = []
    for p in election.projects:
        for k in p.extra:
            if k not in extra_cols:
                extra_cols.append(k)
    out.append("PROJECTS")
    out.append(";".join(["project_id", "cost", "name", "category", *map(_quote, extra_cols)]))
    for p in election.projects:
        fields = [p.id, money_text(p.cost), p.name, p.category]
        fields.extend(p.extra.get(k, "") for k in extra_cols)
        out.append(";".join(_quote(f) for f in fields))

    cardinal = election.vote_type in ("cumulative", "scoring")
    out.append("VOTES")
    out.append("voter_id;vote;points" if cardinal else "voter_id;vote")
    if voter_ids is not None:
        given = iter(voter_ids)
        for vote in election.votes:
            chosen = list(vote.points)
            line = ",".join(chosen)
            if cardinal and isinstance(vote.points, Mapping):
                line += ";" + ",".join(str(vote.points[pid]) for pid in chosen)
            for _ in range(vote.multiplicity):
                out.append(f"{_quote(next(given))};{line}")
        return "\n".join(out) + "\n"
    ids = [p.id for p in election.projects]
    t = election.table()
    voter = 0
    for g, ballot in enumerate(t.ballots):
        line = ",".join(ids[i] for i in ballot)
        if cardinal:
            assert t.points is not None
            line += ";" + ",".join(str(x) for x in t.points[g])
        for _ in range(t.mult[g]):
            voter += 1
            out.append(f"{voter};{line}")
    return "\n".join(out) + "\n"

"""Counting a round: from stored ballots to a stored, explained :class:`~pb.counting.models.Tally`.

The maths is the pure engine in :mod:`pb.tally`; this module only turns a round's rows into an
:class:`~pb.tally.Election`, stores what the engine decided and moves the round on. A count is
keyed by a hash of everything that decides it (projects and costs, budget, ballots, rule), so
counting the same inputs twice returns the stored tally, and counting changed inputs keeps the
old tally beside the new one for the audit.

Cities count each area on its own money (the Porto Alegre split); a decision day counts one pot
over every bid in the round (``Tally.area`` is then empty).
"""

from __future__ import annotations

import hashlib
import io
import json
import time
from collections import Counter
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from backend.accounts.models import Actor
from backend.errors import Conflict, DomainError, NotAllowed
from backend.exports import csv_writer
from pb import rules
from pb.areas.models import Area
from pb.counting.models import Tally
from pb.counting.result import CountResult, ProjectFacts
from pb.counting.selectors import round_unspent, tally_result
from pb.events import round_counted_announce
from pb.models import AuditAction
from pb.phases import Action, Phase, allows, is_closed
from pb.proposals.models import Proposal
from pb.proposals.selectors import shortlist
from pb.rounds.models import BallotType, Round, RoundArea, RoundStyle
from pb.services.audit import audit
from pb.tally import Election, Project, Vote, tally
from pb.tally.pabulib import dumps, loads
from pb.voting.models import Ballot
from pb.voting.sealing import seal_all, shuffled
from pb.voting.services.paper import paper_keyings_clear

#: How each kind of ballot is written in pabulib terms.
VOTE_TYPES: dict[str, str] = {
    BallotType.APPROVAL_BUDGET: "approval",
    BallotType.APPROVAL_COUNT: "approval",
    BallotType.SCORE: "scoring",
    BallotType.CUMULATIVE: "cumulative",
    BallotType.RANKING: "ordinal",
}

#: Money is stored in minor units (pence) but counted and published in whole units (pounds),
#: as pabulib files are: a resident reads "2500" as £2,500, and the budget increase of
#: ``mes-add1`` steps one pound per voter, as equalshares.net's Add1 does, not one penny.
MINOR_UNITS = 100

#: Phases in which the ballots are closed and may be published and counted.


@dataclass(frozen=True)
class CountInputs:
    """One count's inputs: the area (``None`` for a decision day's single pot) and its election."""

    area: Area | None
    budget: int
    proposals: dict[str, Proposal]
    election: Election
    ballots: int
    inputs_hash: str


# --- Building the election ------------------------------------------------------------------


def _counted_ballots(round_: Round, area: Area | None) -> Any:
    qs = Ballot.objects.filter(round=round_)
    if area is not None:
        qs = qs.filter(area=area)
    # Only ballots that count are Ballot rows: a paper ballot becomes one once two keyings agree
    # (or a manager reconciles them); spoilt papers stay in pb.voting's paper records.
    return qs


def _as_vote(selections: dict[str, int], ordinal: bool) -> Vote:
    """One stored ballot as the engine's vote: a ranking is ordered by position (1 = first)."""
    if ordinal:
        ranked = [pid for pid, _ in sorted(selections.items(), key=lambda kv: (kv[1], kv[0]))]
        return Vote(ranked)
    return Vote(dict(sorted(selections.items())))


def _budget_for(round_: Round, area: Area | None) -> int:
    if area is None:
        return round_.budget
    allocation = (
        RoundArea.objects.filter(round=round_, area=area)
        .values_list("allocation", flat=True)
        .first()
    )
    if allocation is None:
        raise DomainError(
            _(
                "%(name)s has no money allocated in this round: compute and publish the budget "
                "split before counting."
            )
            % {"name": area.name},
            code="no_allocation",
        )
    return allocation


def count_inputs(*, round: Round, area: Area | None) -> CountInputs:
    """Read one count's projects, budget and ballots, merging identical ballots."""
    budget = _budget_for(round, area)
    proposals = {str(p.pk): p for p in shortlist(round=round, area=area)}
    vote_type = VOTE_TYPES[round.ballot_type]
    ordinal = vote_type == "ordinal"
    merged: Counter[Any] = Counter()
    first: dict[Any, Vote] = {}
    n_ballots = 0
    for selections in _counted_ballots(round, area).values_list("selections", flat=True).iterator():
        # A choice for a proposal no longer on the ballot cannot count (it was validated
        # when cast; this only guards against a proposal hidden after voting).
        kept = {str(k): int(v) for k, v in selections.items() if str(k) in proposals}
        vote = _as_vote(kept, ordinal)
        first.setdefault(vote.key(), vote)
        merged[vote.key()] += 1
        n_ballots += 1
    votes = [
        Vote(first[key].points, multiplicity=multiplicity)
        for key, multiplicity in sorted(merged.items(), key=lambda kv: repr(kv[0]))
    ]
    projects = [
        Project(
            id=pid,
            cost=Fraction(p.cost, MINOR_UNITS),
            name=p.title,
            category=p.theme.name if p.theme else "",
        )
        for pid, p in sorted(proposals.items())
    ]
    min_share = round.threshold_share
    fingerprint = {
        "round": round.pk,
        "area": area.pk if area else None,
        "rule": round.rule,
        "min_share": str(min_share) if min_share is not None else None,
        "budget": budget,
        "vote_type": vote_type,
        "projects": [[p.id, str(p.cost)] for p in projects],
        "votes": sorted([repr(k), m] for k, m in merged.items()),
    }
    digest = hashlib.sha256(json.dumps(fingerprint, sort_keys=True).encode()).hexdigest()
    election = Election(
        projects=projects,
        budget=Fraction(budget, MINOR_UNITS),
        votes=votes,
        vote_type=vote_type,
        meta={"description": round.name, "currency": round.currency},
    )
    return CountInputs(area, budget, proposals, election, n_ballots, digest)


# --- The result -----------------------------------------------------------------------------


def _result(inputs: CountInputs, round_: Round) -> CountResult:
    """The engine's outcome with the proposals' facts; its sentences are kept word for word."""
    outcome = tally(inputs.election, round_.rule, min_share=round_.threshold_share)
    return CountResult.from_outcome(
        outcome,
        vote_type=inputs.election.vote_type,
        budget=inputs.budget,
        voters=inputs.ballots,
        minor_units=MINOR_UNITS,
        facts={
            pid: ProjectFacts(
                title=p.title,
                cost=p.cost,
                theme=p.theme.name if p.theme else "",
                area=p.area.name,
            )
            for pid, p in inputs.proposals.items()
        },
    )


# --- Counting -------------------------------------------------------------------------------


def count_scopes(*, round: Round) -> list[Area | None]:
    """What is counted separately: each area of a city round, or the one pot of a decision day."""
    if round.style == RoundStyle.DECISION_DAY:
        return [None]
    return list(round.areas.order_by("name"))


def tally_store(*, round: Round, area: Area | None, actor: Actor | None = None) -> Tally:
    """Count one area (or the whole pot) and store it; the same inputs return the stored tally.

    The round row is locked (``select_for_update``) while the tally is looked up and written,
    so two workers counting at once store one tally.
    """
    inputs = count_inputs(round=round, area=area)
    with transaction.atomic():
        Round.objects.select_for_update().get(pk=round.pk)
        existing = Tally.objects.filter(round=round, area=area, inputs_hash=inputs.inputs_hash)
        found = existing.first()
        if found is not None:
            return found
        earlier = Tally.objects.filter(round=round, area=area).order_by("-created_at").first()
        started = time.perf_counter()
        result = _result(inputs, round)
        if earlier is not None:
            # The ballots or shortlist changed since the last count: the new result replaces
            # the published one, so say so in the record, with both results.
            audit(
                actor=actor,
                action=AuditAction.ROUND_RECOUNTED,
                round=round,
                area=area,
                reason="The count's inputs changed since the last count.",
                details={
                    "before": {
                        "inputs": earlier.inputs_hash,
                        "winners": list(tally_result(earlier).winners),
                    },
                    "after": {"inputs": inputs.inputs_hash, "winners": list(result.winners)},
                },
            )
        return Tally.objects.create(
            round=round,
            area=area,
            rule=round.rule,
            inputs_hash=inputs.inputs_hash,
            outcome=result.to_json(),
            seconds=time.perf_counter() - started,
        )


def _require_paper_settled(round_: Round) -> None:
    """Paper ballots keyed once, or keyed twice differently, must be settled before a count:
    counting without them would leave those voters out of the result for good."""
    from pb.voting.models import PaperBallot, PaperStatus

    pending = PaperBallot.objects.filter(
        round=round_, status__in=[PaperStatus.WAITING, PaperStatus.MISMATCH]
    ).count()
    if pending:
        raise DomainError(
            ngettext(
                "%(n)d paper ballot still waits for a second keying or a manager's decision. "
                "Settle it on the paper ballots pages, then count.",
                "%(n)d paper ballots still wait for a second keying or a manager's decision. "
                "Settle them on the paper ballots pages, then count.",
                pending,
            )
            % {"n": pending},
            code="paper_pending",
        )


def round_count(*, round: Round, actor: Actor | None = None) -> list[Tally]:
    """Count every area of a closed round, move it to results and start the outcome feedback.

    Called by the ``tally_round`` task when voting closes, or by a manager during counting.
    Safe to run twice: the stored tallies are returned and the round only moves forward.
    """
    if actor is not None and not rules.can_change_round(actor, round):
        # Counting moves the whole round to its results: the round owner's call, or an admin's.
        raise NotAllowed(_("Only the round's owner or an administrator can count it."))
    if not is_closed(round.phase):
        raise NotAllowed(
            _(
                "The votes can only be counted once voting has closed. The round is now in the "
                "“%(phase)s” phase."
            )
            % {"phase": round.get_phase_display()},
            code="wrong_phase",
        )
    for _attempt in range(COUNT_ATTEMPTS):
        _require_paper_settled(round)
        # Everything cast must be in the count's table first; the count waits for the seal.
        seal_all(round=round)
        tallies = [
            tally_store(round=round, area=area, actor=actor) for area in count_scopes(round=round)
        ]
        with transaction.atomic():
            locked = Round.objects.select_for_update().get(pk=round.pk)
            # Papers are keyed and settled until the round leaves counting: one settled after
            # the seal above is a pending ballot these tallies do not hold. Count again rather
            # than leave it out. Keying and settling take this lock too before they read the
            # phase (pb.voting.services.paper._round_still_keying), so none commits unseen
            # between this check and the move to results.
            if allows(locked.phase, Action.COUNT) and _paper_settled_since_seal(locked):
                continue
            _round_counted(locked, round=round, tallies=tallies, actor=actor)
        break
    else:
        _require_paper_settled(round)
        raise Conflict(
            _("Paper ballots were still being keyed while counting. Count again when they stop.")
        )
    # The paper keyings served only to settle papers: once the count is stored they go, so that
    # none can be lined up with the names ticked at the desks (docs/secrecy.md).
    paper_keyings_clear(round_id=round.pk)
    return tallies


#: How often a count starts again when papers are settled while it runs.
COUNT_ATTEMPTS = 3


def _paper_settled_since_seal(round_: Round) -> bool:
    """A paper was keyed or settled after the count sealed the round's ballots."""
    from pb.voting.models import PaperBallot, PaperStatus, PendingBallot

    return (
        PendingBallot.objects.filter(round=round_).exists()
        or PaperBallot.objects.filter(
            round=round_, status__in=[PaperStatus.WAITING, PaperStatus.MISMATCH]
        ).exists()
    )


def _round_counted(
    locked: Round, *, round: Round, tallies: list[Tally], actor: Actor | None
) -> None:
    """Move a counted round (its row locked) to its results, once, and announce the count."""
    if allows(locked.phase, Action.COUNT):
        locked.phase = Phase.RESULTS
        locked.save(update_fields=["phase"])
        unspent = round_unspent(round=locked, tallies=tallies)
        audit(
            actor=actor,
            action=AuditAction.ROUND_COUNTED,
            round=locked,
            reason="Votes counted" if actor is None else "Counted by hand",
            details={
                "tallies": [t.pk for t in tallies],
                "inputs": [t.inputs_hash for t in tallies],
                "at": timezone.now().isoformat(),
                # Where the money the areas left went, as the results pages say it.
                "unspent": unspent.to_json() if unspent else None,
            },
        )
        round.phase = Phase.RESULTS
    # Started by every count, not only the one that moved the round on: a worker killed
    # between this commit and the enqueue gets ``tally_round`` again (``acks_late``) and
    # finds the round already in results. The pipeline is keyed by the count, so starting
    # it again for the same tallies finds its report and skips the steps already done.
    round_counted_announce(round_id=round.pk)


# --- Published ballots ----------------------------------------------------------------------


def _require_closed(round_: Round) -> None:
    if not is_closed(round_.phase):
        raise NotAllowed(
            _("The ballots are published once voting has closed, so nobody sees a running count."),
            code="not_closed",
        )


#: A channel with fewer ballots than this in an area is not named in the published files: one
#: kiosk or paper ballot in an area would otherwise be picked out by whoever saw it cast.
MIN_CHANNEL_CELL = 5

SUPPRESSED = "not shown"


def _ballot_rows(round_: Round, area: Area | None) -> list[tuple[str, str, dict[str, int]]]:
    """``(area slug, channel, selections)`` per ballot, in a fresh random order.

    The channel is blanked (``SUPPRESSED``) wherever fewer than ``MIN_CHANNEL_CELL`` ballots of
    that area came from it. No receipt hash: receipts are published in a list of their own
    (``receipts_csv``), so a receipt cannot show anyone what its holder chose.
    """
    rows = list(_counted_ballots(round_, area).values_list("area__slug", "channel", "selections"))
    cells = Counter((a, c) for a, c, _s in rows)
    return shuffled(
        (a, c if cells[(a, c)] >= MIN_CHANNEL_CELL else SUPPRESSED, s) for a, c, s in rows
    )


def _file_comment(rows: list[tuple[str, str, dict[str, int]]]) -> str:
    hidden = sorted({a for a, c, _s in rows if c == SUPPRESSED})
    text = (
        "Ballots in a random order, with no receipt codes: the receipts are published in a "
        "separate list, so a receipt proves that a ballot was counted, not what it chose."
    )
    if hidden:
        text += (
            f" The channel (online, kiosk, paper) is not shown where fewer than "
            f"{MIN_CHANNEL_CELL} ballots of an area came from it, so that no single voter "
            f"stands out (areas: {', '.join(hidden)})."
        )
    return text


def ballots_pb(*, round: Round, area: Area | None) -> str:
    """The anonymised ballots as a pabulib ``.pb`` file, in a random order, numbered 1, 2, ...

    ``python -m pb.tally`` recounts it with the round's rule and gets the published winners.
    """
    _require_closed(round)
    inputs = count_inputs(round=round, area=area)
    ordinal = inputs.election.vote_type == "ordinal"
    rows = _ballot_rows(round, area)
    votes: list[Vote] = []
    for _area, _channel, selections in rows:
        kept = {str(k): int(v) for k, v in selections.items() if str(k) in inputs.proposals}
        votes.append(_as_vote(kept, ordinal))
    meta = {
        "description": f"{round.name}" + (f": {area.name}" if area else ""),
        "comment": _file_comment([]) + " The channel each ballot came by is in the CSV file.",
        "currency": round.currency,
        "rule": round.rule,
        "license": "CC BY 4.0",
    }
    min_share = round.threshold_share
    if min_share is not None:
        meta["min_share"] = str(min_share)
    election = Election(
        projects=inputs.election.projects,
        budget=inputs.election.budget,
        votes=votes,
        vote_type=inputs.election.vote_type,
        meta=meta,
    )
    return dumps(election, voter_ids=[str(i) for i in range(1, len(rows) + 1)])


def ballots_csv(*, round: Round, area: Area | None) -> str:
    """The anonymised ballots as CSV, in a random order: area, channel and the choices.

    The first line is a ``#`` comment saying what the file leaves out and why.
    """
    _require_closed(round)
    rows = _ballot_rows(round, area)
    out = io.StringIO()
    out.write(f"# {_file_comment(rows)}\n")
    writer = csv_writer(out)
    writer.writerow(["area", "channel", "choices"])
    for area_slug, channel, selections in rows:
        choices = ",".join(
            f"{k}:{v}" for k, v in sorted(selections.items(), key=lambda kv: int(kv[0]))
        )
        writer.writerow([area_slug, channel, choices])
    return out.getvalue()


def receipts_csv(*, round: Round, area: Area | None = None) -> str:
    """The SHA-256 of every counted ballot's receipt code, sorted by hash, with its area.

    A voter finds their receipt here to see that their ballot was counted; per area there are
    exactly as many receipts as ballots in the ballot files.
    """
    from pb.voting.models import Receipt

    _require_closed(round)
    rows = Receipt.objects.filter(round=round)
    if area is not None:
        rows = rows.filter(area=area)
    out = io.StringIO()
    out.write(
        "# One line per counted ballot. Find the SHA-256 of your receipt code to see that your "
        "ballot was counted; the ballots themselves are in the ballot files, in another order.\n"
    )
    writer = csv_writer(out)
    writer.writerow(["receipt_hash", "area"])
    writer.writerows(rows.order_by("receipt_hash").values_list("receipt_hash", "area__slug"))
    return out.getvalue()


def recount_published(*, round: Round, area: Area | None) -> tuple[str, ...]:
    """The winners of counting the published ballot file (``ballots_pb``) again, read back as
    anyone downloading it would and counted with the round's rule, as ``python -m pb.tally``
    does: the integrity figure of the outcome report compares them with the stored winners."""
    election = loads(ballots_pb(round=round, area=area), source="published ballot file")
    outcome = tally(election, round.rule, min_share=round.threshold_share)
    return tuple(str(w) for w in outcome.winners)


def tally_verify(*, tally: Tally) -> list[str]:
    """Count a stored tally's area again from the stored ballots and say what differs (nothing:
    an empty list). Used after restoring a backup (docs/operations.md); stores nothing."""
    inputs = count_inputs(round=tally.round, area=tally.area)
    problems = []
    if inputs.inputs_hash != tally.inputs_hash:
        problems.append(f"inputs hash {inputs.inputs_hash} instead of {tally.inputs_hash}")
    winners = list(_result(inputs, tally.round).winners)
    stored = list(tally_result(tally).winners)
    if winners != stored:
        problems.append(f"winners {winners} instead of {stored}")
    return problems

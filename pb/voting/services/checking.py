"""Checking a ballot against its round's rules, and the review step before casting."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from backend.errors import DomainError
from pb.phases import Action
from pb.rounds.models import BallotType, Round
from pb.services.guards import require_phase
from pb.voting.selectors import BallotSpec, ballot_spec


def _invalid(message: str, code: str) -> DomainError:
    return DomainError(message, field="selections", code=code)


def _as_int(value: Any) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        try:
            return int(value.strip())
        except ValueError:  # "²" is a digit to isdigit(), and int() caps its digits at 4,300
            pass
    raise _invalid(_("Every choice must be a whole number."), "malformed")


def _raw_pairs(raw: Any) -> dict[str, int]:
    """Accept ``{"12": 1}`` or, for approval ballots, a list of ids ``[12, 15]``."""
    if isinstance(raw, Mapping):
        pairs = {str(k).strip(): _as_int(v) for k, v in raw.items()}
    elif isinstance(raw, list | tuple):
        pairs = {str(_as_int(v)): 1 for v in raw}
        if len(pairs) != len(raw):
            raise _invalid(_("A project is chosen twice."), "malformed")
    else:
        raise _invalid(_("Send the choices as a list of projects or a mapping."), "malformed")
    return {k: v for k, v in pairs.items() if v != 0}


def names_a_project_not_on(spec: BallotSpec, raw: Any) -> bool:
    """Whether ``raw`` plainly chooses a project that is not on this ballot, which
    ``check_selections`` refuses: a quick look, with no message made, for trying a ballot
    against areas it is not for. Only whole-number ids in a list, and ids chosen with a
    whole number other than 0 in a mapping, are looked at; anything else says False and is
    left to ``check_selections``."""
    if isinstance(raw, Mapping):
        chosen = [k for k, v in raw.items() if type(v) is int and v != 0]
    elif isinstance(raw, list | tuple):
        chosen = [v for v in raw if type(v) is int]
    else:
        return False
    items = spec.by_id
    return any((k.strip() if isinstance(k, str) else str(k)) not in items for k in chosen)


def check_selections(spec: BallotSpec, raw: Any, *, own_bid: int | None = None) -> dict[str, int]:
    """The canonical selections for ``raw`` on this ballot, or a ``DomainError`` saying why not.

    Canonical (the contract with the count): approval ``{"12": 1}``, score and cumulative
    ``{"12": 7}``, ranking ``{"12": 1, "15": 2}`` with 1 the first choice.
    """
    pairs = _raw_pairs(raw)
    items = spec.by_id
    unknown = [k for k in pairs if k not in items]
    if unknown:
        raise _invalid(
            _("A chosen project is not on this ballot (it may be from another area or round)."),
            "unknown_project",
        )
    if any(v < 0 for v in pairs.values()):
        raise _invalid(_("Choices cannot be negative."), "malformed")
    kind = spec.ballot_type
    if kind in (BallotType.APPROVAL_BUDGET, BallotType.APPROVAL_COUNT):
        if any(v != 1 for v in pairs.values()):
            raise _invalid(_("Choose a project or leave it out."), "malformed")
        _check_count(spec, len(pairs))
        if kind == BallotType.APPROVAL_BUDGET:
            total = sum(items[k].cost for k in pairs)
            if total > spec.limit:
                from pb.money import format_money

                raise _invalid(
                    _(
                        "Your choices cost %(total)s, more than the %(limit)s to spend. "
                        "Leave something out."
                    )
                    % {
                        "total": format_money(total, spec.currency),
                        "limit": format_money(spec.limit, spec.currency),
                    },
                    "over_budget",
                )
    elif kind == BallotType.SCORE:
        _check_scores(spec, pairs, own_bid)
    elif kind == BallotType.CUMULATIVE:
        total = sum(pairs.values())
        if total != spec.points_total:
            raise _invalid(
                ngettext(
                    "Share out exactly %(n)d point; you gave %(total)d.",
                    "Share out exactly %(n)d points; you gave %(total)d.",
                    spec.points_total,
                )
                % {"n": spec.points_total, "total": total},
                "points",
            )
    elif kind == BallotType.RANKING:
        ranks = sorted(pairs.values())
        if not ranks:
            raise _invalid(_("Put at least one project in order."), "too_few")
        if len(ranks) > spec.rank_k:
            raise _invalid(
                ngettext("Rank at most %(k)d project.", "Rank at most %(k)d projects.", spec.rank_k)
                % {"k": spec.rank_k},
                "too_many",
            )
        if ranks != list(range(1, len(ranks) + 1)):
            raise _invalid(_("Number your choices 1, 2, 3… in order, each number once."), "ranking")
    return dict(sorted(pairs.items(), key=lambda kv: int(kv[0])))


def _check_count(spec: BallotSpec, n: int) -> None:
    low = min(spec.min_choices, len(spec.items))
    high = spec.max_choices
    if spec.ballot_type == BallotType.APPROVAL_COUNT and high is None:
        high = len(spec.items)
    if n < low:
        raise _invalid(
            ngettext("Choose at least %(n)d project.", "Choose at least %(n)d projects.", low)
            % {"n": low}
            if low > 1
            else _("Choose at least one project."),
            "too_few",
        )
    if high is not None and n > high:
        raise _invalid(
            ngettext("Choose at most %(n)d project.", "Choose at most %(n)d projects.", high)
            % {"n": high},
            "too_many",
        )


def _check_scores(spec: BallotSpec, pairs: dict[str, int], own_bid: int | None) -> None:
    if any(not 1 <= v <= spec.score_max for v in pairs.values()):
        raise _invalid(_("Scores go from 1 to %(top)d.") % {"top": spec.score_max}, "score_range")
    expected = set(spec.by_id)
    if own_bid is not None:
        if str(own_bid) not in expected:
            raise DomainError(_("That bid is not on this ballot."), field="own_bid")
        if not spec.groups_score_own_bid:
            if str(own_bid) in pairs:
                raise _invalid(_("Groups do not score their own bid: leave it out."), "own_bid")
            expected.discard(str(own_bid))
    missing = expected - set(pairs)
    if missing:
        raise _invalid(_("Give every bid a score."), "too_few")


def ballot_check(
    *,
    round: Round,
    selections: Any,
    area_id: int,
    own_bid: int | None = None,
) -> dict[str, int]:
    """The review step: check a ballot without casting it (nothing is stored)."""
    require_phase(round, Action.VOTE, _("Voting is not open."))
    spec = ballot_spec(round=round, area_id=area_id)
    return check_selections(spec, selections, own_bid=own_bid)

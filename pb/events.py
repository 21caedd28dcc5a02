"""What pb announces to the apps built on it, so pb never imports them.

pb sits below ``feedback`` and ``deliberation`` (see docs/architecture.md): it cannot call the
outcome feedback when a round is counted, so it announces the fact and feedback subscribes in
its ``AppConfig.ready``. An announcement is delivered after the transaction that made it true
commits, never before and never for a rolled-back change. A subscriber that fails raises into
the caller (the count's Celery task, which is retried), so nothing is dropped silently.

These are not model signals: each is announced explicitly by the one service that knows the
fact (``pb.counting.services.round_count``, ``pb.services.proposals.proposal_hide``), and the
subscribers are listed in one place each.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import transaction

RoundCounted = Callable[[int], None]

_round_counted: list[RoundCounted] = []


def round_counted_subscribe(handler: RoundCounted) -> None:
    """Call ``handler(round_id)`` after every committed count. Subscribing twice (``ready()``
    can run more than once in tests) keeps one subscription."""
    if handler not in _round_counted:
        _round_counted.append(handler)


def round_counted_subscribers() -> tuple[RoundCounted, ...]:
    return tuple(_round_counted)


def round_counted_announce(*, round_id: int) -> None:
    """Announce, once the current transaction commits, that the round's count is stored."""

    def deliver() -> None:
        for handler in tuple(_round_counted):
            handler(round_id)

    transaction.on_commit(deliver)


ProposalHidden = Callable[[int], None]

_proposal_hidden: list[ProposalHidden] = []


def proposal_hidden_subscribe(handler: ProposalHidden) -> None:
    """Call ``handler(proposal_id)`` after a proposal is hidden and the hiding committed (rooms
    take its title out of their logs). Subscribing twice keeps one subscription."""
    if handler not in _proposal_hidden:
        _proposal_hidden.append(handler)


def proposal_hidden_announce(*, proposal_id: int) -> None:
    """Announce, once the current transaction commits, that the proposal is hidden."""

    def deliver() -> None:
        for handler in tuple(_proposal_hidden):
            handler(proposal_id)

    transaction.on_commit(deliver)

"""What pb announces to the apps built on it, so pb never imports them.

pb sits below ``feedback`` and ``deliberation`` (see docs/architecture.md): it cannot call the
outcome feedback when a round is counted, so it announces the fact and feedback subscribes in
its ``AppConfig.ready``. An announcement (``backend.announcements``) is delivered after the
transaction that made it true commits, never before and never for a rolled-back change. A
subscriber that fails raises into the caller (the count's Celery task, which is retried), so
nothing is dropped silently.

These are not model signals: each is announced explicitly by the one service that knows the
fact (``pb.counting.services.round_count``, ``pb.proposals.services.proposal_hide``,
``pb.rounds.services``' phase moves), and the subscribers are listed in one place each.
"""

from __future__ import annotations

from backend.announcements import Announcement

#: A round's count is stored (feedback starts the outcome pipeline).
round_counted = Announcement("round counted")
round_counted_subscribe = round_counted.subscribe
round_counted_subscribers = round_counted.subscribers


def round_counted_announce(*, round_id: int) -> None:
    """Announce, once the current transaction commits, that the round's count is stored."""
    round_counted.announce(round_id)


#: A proposal is hidden (rooms take its title out of their logs).
proposal_hidden = Announcement("proposal hidden")
proposal_hidden_subscribe = proposal_hidden.subscribe


def proposal_hidden_announce(*, proposal_id: int) -> None:
    """Announce, once the current transaction commits, that the proposal is hidden."""
    proposal_hidden.announce(proposal_id)


#: A round moved to another phase (live rooms check again who may react and raise a hand).
round_moved = Announcement("round moved")
round_moved_subscribe = round_moved.subscribe


def round_moved_announce(*, round_id: int) -> None:
    """Announce, once the current transaction commits, that the round is in another phase."""
    round_moved.announce(round_id)

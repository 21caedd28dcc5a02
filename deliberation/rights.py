"""What a live room's reactions and hands may skip: checks already made, kept until a change.

A busy room gets about ten times more reactions and hands than contributions, and each used to
be checked from scratch: the room, its round's phase, a mute, the facilitators, the person's
checked home area, the contribution reacted to, the account and session. That is six
PostgreSQL round trips, fifty times a second, on the same two cores as the fan-out; with
reactions on, the fan-out's p99 was 7.7 times what it was without (docs/live-protocol.md).

So a room's hub (one per room and server process) keeps a :class:`RoomRights`: who has been
found allowed to react and raise a hand, and which contributions were found visible. A light
frame whose person and contribution are known costs no database round trip; anything else is
checked as before and remembered. Nothing is remembered about a refusal: a refused person is
checked again each time (the refusal's words are in the language of the frame that got it).

What is remembered is forgotten, for the whole room, when the hub hears of a change that can
take a right away: an event that is not in :data:`HARMLESS` (the room opened or closed, a
person muted, a contribution hidden, or a kind this module does not know), events read from
the log after a gap (the hub does not look at what they are), and ``room.rights`` messages,
sent to the room's group when its round moves to another phase
(``services.room_rights_changed``). Since the layer can lose a message while Redis restarts,
and some changes announce nothing to the room (the council un-checks a home area, a facilitator
is removed in the admin), each remembered right also lapses after :data:`TTL` seconds.

Checks start from a :meth:`RoomRights.stamp` taken before they read the database and are kept
under it: a change heard while the check ran makes the result stale at once, never kept as new.
Entries are read and written from the light threads and the event loop without a lock: each is
one dictionary operation, and an entry is trusted only if its stamp is the current one.
"""

from __future__ import annotations

import time
from collections.abc import Callable

#: Seconds a remembered right or visible contribution is trusted without a change being heard:
#: the longest a right taken away without a word to the room (a home area un-checked, a
#: facilitator removed, an announcement lost while Redis restarted) still lets reactions and
#: hands through.
TTL = 10.0

#: Event kinds that take no right away and hide nothing: they leave what is remembered alone.
#: Every other kind (``opened``, ``closed``, ``muted``, ``hidden``, and any kind added later
#: until it is listed here) makes the room's hub forget everything.
HARMLESS = frozenset(
    {
        "said",
        "reactions",
        "reacted",
        "hand",
        "speaker",
        "agenda",
        "timer",
        "poll_opened",
        "poll_voted",
        "poll_closed",
        "pinned",
    }
)

#: The clock of the lapses (tests move it).
clock: Callable[[], float] = time.monotonic


class RoomRights:
    """A room's remembered light-frame checks in one server process (held by its hub)."""

    def __init__(self) -> None:
        #: Bumped by every change heard; an entry made under another stamp is not trusted.
        self.version = 0
        #: Person id -> (stamp, trusted until): found allowed to react and raise a hand.
        self.people: dict[int, tuple[int, float]] = {}
        #: Contribution id -> (stamp, trusted until): found in the room and not hidden.
        self.contributions: dict[int, tuple[int, float]] = {}

    def stamp(self) -> int:
        """Take before checking; hand to :meth:`allow` or :meth:`visible` with the result."""
        return self.version

    def forget(self) -> None:
        """Something changed: check everyone and every contribution again."""
        self.version += 1
        self.people = {}
        self.contributions = {}

    def heard(self, event: str | None) -> None:
        """The hub heard of an event of kind ``event`` (None: it does not know which)."""
        if event not in HARMLESS:
            self.forget()

    def may(self, user_id: int) -> bool:
        return self._fresh(self.people.get(user_id))

    def allow(self, user_id: int, stamp: int) -> None:
        self.people[user_id] = (stamp, clock() + TTL)

    def is_visible(self, contribution_id: int) -> bool:
        return self._fresh(self.contributions.get(contribution_id))

    def visible(self, contribution_id: int, stamp: int) -> None:
        self.contributions[contribution_id] = (stamp, clock() + TTL)

    def _fresh(self, entry: tuple[int, float] | None) -> bool:
        return entry is not None and entry[0] == self.version and entry[1] > clock()

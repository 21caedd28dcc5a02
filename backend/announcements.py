"""An announcement: a fact that one service makes true and the apps above it act on.

A lower app cannot call the apps built on it (docs/architecture.md), so it announces the fact
and they subscribe in their ``AppConfig.ready``. Delivery waits for the transaction that made
the fact true to commit: never before, never for a rolled-back change. A subscriber that fails
raises into the caller, so nothing is dropped silently. ``backend.accounts.events`` and
``pb.events`` name the announcements each app makes.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import transaction

#: A subscriber, called with the id of what the announcement is about.
Handler = Callable[[int], None]


class Announcement:
    def __init__(self, what: str) -> None:
        #: What is announced, for people reading a log or a failure.
        self.what = what
        self._handlers: list[Handler] = []

    def subscribe(self, handler: Handler) -> None:
        """Call ``handler(id)`` after every committed announcement. Subscribing twice
        (``ready()`` can run more than once in tests) keeps one subscription."""
        if handler not in self._handlers:
            self._handlers.append(handler)

    def subscribers(self) -> tuple[Handler, ...]:
        return tuple(self._handlers)

    def announce(self, subject_id: int) -> None:
        """Deliver to every subscriber once the current transaction commits."""

        def deliver() -> None:
            for handler in tuple(self._handlers):
                handler(subject_id)

        transaction.on_commit(deliver)

    def __repr__(self) -> str:
        return f"<Announcement {self.what!r}>"

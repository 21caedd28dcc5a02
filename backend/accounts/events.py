"""What accounts announces to the apps built on it, so accounts never imports them.

Like ``pb.events``: an announcement is delivered after the transaction that made it true
commits. Logging out needs no announcement of ours: Django's ``user_logged_out`` signal is sent
by every way of logging out.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import transaction

AccountClosed = Callable[[int], None]

_account_closed: list[AccountClosed] = []


def account_closed_subscribe(handler: AccountClosed) -> None:
    """Call ``handler(user_id)`` after an account is deactivated (live rooms close its
    sockets). Subscribing twice keeps one subscription."""
    if handler not in _account_closed:
        _account_closed.append(handler)


def account_closed_announce(*, user_id: int) -> None:
    """Announce, once the current transaction commits, that the account is deactivated."""

    def deliver() -> None:
        for handler in tuple(_account_closed):
            handler(user_id)

    transaction.on_commit(deliver)

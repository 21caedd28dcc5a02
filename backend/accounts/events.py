"""What accounts announces to the apps built on it, so accounts never imports them.

Like ``pb.events`` (both are ``backend.announcements.Announcement``): an announcement is
delivered after the transaction that made it true commits. Logging out needs no announcement of
ours: Django's ``user_logged_out`` signal is sent by every way of logging out.
"""

from __future__ import annotations

from backend.announcements import Announcement

#: An account was deactivated: live rooms close its sockets.
account_closed = Announcement("account closed")
account_closed_subscribe = account_closed.subscribe


def account_closed_announce(*, user_id: int) -> None:
    """Announce, once the current transaction commits, that the account is deactivated."""
    account_closed.announce(user_id)

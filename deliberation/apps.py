from typing import Any

from django.apps import AppConfig


class DeliberationConfig(AppConfig):
    name = "deliberation"
    verbose_name = "Deliberation rooms"

    def ready(self) -> None:
        # The apps below announce facts that rooms act on (they cannot import this app): a
        # hidden proposal's title leaves the rooms' logs; a round's move to another phase
        # makes its rooms check again who may react; a closed account's sockets close.
        # Logging out is Django's own signal, sent by every way of logging out.
        from django.contrib.auth.signals import user_logged_out

        from backend.accounts.events import account_closed_subscribe
        from pb.events import proposal_hidden_subscribe, round_moved_subscribe

        proposal_hidden_subscribe(_scrub_proposal)
        round_moved_subscribe(_round_moved)
        account_closed_subscribe(_close_account)
        user_logged_out.connect(_logged_out, dispatch_uid="deliberation-close-sockets")


def _scrub_proposal(proposal_id: int) -> None:
    from deliberation.services import proposal_scrub

    proposal_scrub(proposal_id=proposal_id)


def _round_moved(round_id: int) -> None:
    from deliberation.services import room_rights_changed

    room_rights_changed(round_id=round_id)


def _close_account(user_id: int) -> None:
    from deliberation.services import account_sockets_close

    account_sockets_close(user_id=user_id)


def _logged_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    from deliberation.services import account_sockets_close

    if user is None or request is None:
        return
    session_key = getattr(getattr(request, "session", None), "session_key", None) or ""
    account_sockets_close(user_id=user.pk, session_key=session_key)

"""Who may run the voting channels. ``pb.phases`` says *when*; services check both."""

from __future__ import annotations

from typing import Any

from backend.accounts import rules as base
from backend.accounts.models import Role
from pb import rules as pb_rules
from pb.models import Round


def can_run_event(user: Any, round_: Round) -> bool:
    """Event staff (anywhere) and the round's managers unlock kiosks and key paper ballots."""
    return base.has_role(user, Role.EVENT_STAFF) or pb_rules.can_manage_round(user, round_)


def can_issue_voter_codes(user: Any, round_: Round) -> bool:
    return pb_rules.can_manage_round(user, round_)


def can_reconcile(user: Any, round_: Round) -> bool:
    """Only a manager of the round decides a paper ballot whose two keyings differ."""
    return pb_rules.can_manage_round(user, round_)


def can_open_and_close(user: Any, round_: Round) -> bool:
    return pb_rules.can_manage_round(user, round_)

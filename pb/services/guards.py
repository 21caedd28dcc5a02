"""Refusals shared by pb's services: a permission or a phase that does not allow the action."""

from __future__ import annotations

from django.utils.translation import gettext as _

from backend.errors import NotAllowed
from pb.phases import Action, allows
from pb.rounds.models import Round


def require(condition: bool, message: str) -> None:
    if not condition:
        raise NotAllowed(message)


def require_phase(round_: Round, action: Action, message: str) -> None:
    if not allows(round_.phase, action):
        raise NotAllowed(
            _("%(message)s The round is now in the “%(phase)s” phase.")
            % {"message": message, "phase": round_.get_phase_display()},
            code="wrong_phase",
        )

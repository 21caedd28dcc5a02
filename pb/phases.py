"""The phase table: which actions each phase of a round allows.

Services call :func:`allows` before they change anything, so no view, API call or consumer can
act outside its phase (adhocracy+'s ``phases.py`` is the model). Staff actions that keep a round
running (review, moderation) are listed here too; role and scope checks live in ``pb.rules``.
"""

from __future__ import annotations

from enum import StrEnum

from django.db import models
from django.utils.translation import gettext_lazy as _


class Phase(models.TextChoices):
    DRAFT = "draft", _("Being prepared")
    INTAKE = "intake", _("Taking proposals")
    REVIEW = "review", _("Council review")
    PRIORITIES = "priorities", _("Ranking priorities")
    DELIBERATION = "deliberation", _("Deliberation")
    VOTING = "voting", _("Voting")
    COUNTING = "counting", _("Counting")
    RESULTS = "results", _("Results")
    IMPLEMENTATION = "implementation", _("Delivering projects")


#: The order a round passes through. A round may skip phases it does not use.
ORDER: tuple[Phase, ...] = tuple(Phase)


class Action(StrEnum):
    SUBMIT = "submit"
    EDIT_OWN = "edit_own"
    WITHDRAW = "withdraw"
    SUPPORT = "support"
    REVIEW = "review"
    RANK_THEMES = "rank_themes"
    COMMENT = "comment"
    VOTE = "vote"
    KEY_PAPER = "key_paper"
    COUNT = "count"
    EDIT_RULES = "edit_rules"
    SPLIT = "split"
    MODERATE = "moderate"
    TRACK_DELIVERY = "track_delivery"


_FROZEN = frozenset({Action.MODERATE, Action.COMMENT})

PHASE_ACTIONS: dict[Phase, frozenset[Action]] = {
    Phase.DRAFT: frozenset({Action.EDIT_RULES, Action.SPLIT, Action.MODERATE}),
    Phase.INTAKE: frozenset(
        {
            Action.SUBMIT,
            Action.EDIT_OWN,
            Action.WITHDRAW,
            Action.SUPPORT,
            Action.COMMENT,
            Action.EDIT_RULES,
            Action.SPLIT,
            Action.MODERATE,
        }
    ),
    Phase.REVIEW: frozenset(
        {
            Action.REVIEW,
            Action.WITHDRAW,
            Action.COMMENT,
            Action.EDIT_RULES,
            Action.SPLIT,
            Action.MODERATE,
        }
    ),
    Phase.PRIORITIES: frozenset(
        {
            Action.RANK_THEMES,
            Action.WITHDRAW,
            Action.COMMENT,
            Action.EDIT_RULES,
            Action.SPLIT,
            Action.MODERATE,
        }
    ),
    Phase.DELIBERATION: frozenset(
        {Action.WITHDRAW, Action.COMMENT, Action.EDIT_RULES, Action.SPLIT, Action.MODERATE}
    ),
    # From voting on, budget, rules, eligibility and the shortlist are frozen (integrity).
    Phase.VOTING: _FROZEN | {Action.VOTE, Action.KEY_PAPER},
    # Paper boxes are keyed and differing papers settled after the polls close; the count
    # waits until none is left (pb.counting).
    Phase.COUNTING: _FROZEN | {Action.COUNT, Action.KEY_PAPER},
    Phase.RESULTS: _FROZEN,
    Phase.IMPLEMENTATION: _FROZEN | {Action.TRACK_DELIVERY},
}


def _from(first: Phase) -> frozenset[Phase]:
    return frozenset(ORDER[ORDER.index(first) :])


#: From voting on, the budget, rules, eligibility, timetable and shortlist are fixed.
FROZEN_PHASES = _from(Phase.VOTING)
#: Voting has closed: the count is running or done; no ballot, code or kiosk is taken.
CLOSED_PHASES = _from(Phase.COUNTING)
#: The count is published to residents: results and delivery.
RESULTS_PHASES = _from(Phase.RESULTS)
#: Event staff have desks to run: kiosks and paper while voting, keying paper and settling
#: differing papers while counting.
EVENT_PHASES = frozenset({Phase.VOTING, Phase.COUNTING})
#: The phases a timetable gives dates to: every one after preparation.
SCHEDULED_PHASES: tuple[Phase, ...] = ORDER[1:]


def allows(phase: str, action: Action) -> bool:
    return action in PHASE_ACTIONS[Phase(phase)]


def phases_allowing(action: Action) -> frozenset[Phase]:
    return frozenset(p for p, allowed in PHASE_ACTIONS.items() if action in allowed)


def is_public(phase: str) -> bool:
    """A round being prepared is seen only by its managers (``pb.rules.can_see_round``)."""
    return Phase(phase) != Phase.DRAFT


def is_frozen(phase: str) -> bool:
    """Voting has opened: budget, rules, eligibility and timetable can no longer change."""
    return Phase(phase) in FROZEN_PHASES


def is_closed(phase: str) -> bool:
    """Voting has closed (counting, results or delivery)."""
    return Phase(phase) in CLOSED_PHASES


def has_results(phase: str) -> bool:
    """The count is published to residents."""
    return Phase(phase) in RESULTS_PHASES


def position(phase: str) -> int:
    """Where ``phase`` comes in a round's order (draft is 0): sort phases by this."""
    return ORDER.index(Phase(phase))


def is_later(phase: str, than: str) -> bool:
    """``phase`` comes after ``than`` in a round's order."""
    return position(phase) > position(than)


def phases_after(phase: str) -> tuple[Phase, ...]:
    return ORDER[ORDER.index(Phase(phase)) + 1 :]

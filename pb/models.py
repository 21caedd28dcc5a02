"""The models of the ``pb`` app: the audit log, defined here, and every sub-domain's models,
defined in its own package and imported here so that Django's app registry loads them under the
app label ``pb`` (their tables keep their names). Import a model from its own package:

- ``pb.areas.models``: areas, themes, needs
- ``pb.rounds.models``: rounds, their rules, areas and phase windows
- ``pb.proposals.models``: proposals, their history, translations, supports and comments
- ``pb.split.models``: residents' theme rankings
- ``pb.voting.models``: voter codes, participation, ballots, kiosks, paper, the register
- ``pb.counting.models``: stored counts
"""

from __future__ import annotations

from enum import StrEnum

from django.conf import settings
from django.db import models

from pb.areas.models import *  # noqa: F403
from pb.areas.models import Area
from pb.counting.models import *  # noqa: F403
from pb.proposals.models import *  # noqa: F403
from pb.proposals.models import Proposal
from pb.rounds.models import *  # noqa: F403
from pb.rounds.models import Round
from pb.split.models import *  # noqa: F403
from pb.voting.models import *  # noqa: F403


class AuditAction(StrEnum):
    """Every action the audit log records, so emitters and readers (the outcome report) name
    them one way. Stored as its text: ``AuditEntry.action``."""

    ROUND_CREATE = "round.create"
    ROUND_UPDATE = "round.update"
    ROUND_TIMETABLE = "round.timetable"
    PHASE_ADVANCE = "phase.advance"
    ROUND_COUNTED = "round.counted"
    ROUND_RECOUNTED = "round.recounted"
    ROUND_COUNT_FAILED = "round.count_failed"
    PROPOSAL_REVIEW = "proposal.review"
    PROPOSAL_TRANSLATE = "proposal.translate"
    RESIDENT_VERIFY = "resident.verify"
    RESIDENT_DECLINE = "resident.decline"
    SPLIT_CONFIGURE = "split.configure"
    SPLIT_COMPUTE = "split.compute"
    SPLIT_OVERRIDE = "split.override"
    SPLIT_PUBLISH = "split.publish"
    VOTING_CODES_ISSUED = "voting.codes_issued"
    VOTING_KIOSK_UNLOCK = "voting.kiosk_unlock"
    VOTING_KIOSK_LOCK = "voting.kiosk_lock"
    VOTING_PAPER_RECONCILE = "voting.paper_reconcile"
    VOTING_REVEAL = "voting.reveal"
    MODERATION_HIDE_PROPOSAL = "moderation.hide_proposal"
    MODERATION_HIDE_IMAGE = "moderation.hide_image"
    REGISTER_IMPORTED = "register.imported"
    RESIDENT_MATCHED = "resident.matched"
    VOTING_DESK_TICK = "voting.desk_tick"
    VOTING_DESK_SEARCH = "voting.desk_search"
    VOTING_DESK_SEARCH_LIMITED = "voting.desk_search_limited"
    VOTING_PAPER_KEYINGS_CLEARED = "voting.paper_keyings_cleared"
    VOTING_SURVEY_SLIPS = "voting.survey_slips"
    COMMENT_HIDE = "comment.hide"
    COMMENT_KEEP = "comment.keep"


class AuditEntry(models.Model):
    """Every staff action on a round, proposal or area: who, what, when and why."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=60)
    round = models.ForeignKey(
        Round, null=True, blank=True, on_delete=models.CASCADE, related_name="audit_entries"
    )
    proposal = models.ForeignKey(
        Proposal, null=True, blank=True, on_delete=models.CASCADE, related_name="audit_entries"
    )
    area = models.ForeignKey(
        Area, null=True, blank=True, on_delete=models.CASCADE, related_name="audit_entries"
    )
    reason = models.TextField(blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action}"

"""Proposals, their review history, translations and supports, and residents' comments on them.

Imported by ``pb.models``, so they belong to the ``pb`` app and keep their tables."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from pb.areas.models import Area, Theme
from pb.rounds.models import Round

__all__ = [
    "Comment",
    "CommentFlag",
    "CommentStance",
    "DetailsRead",
    "Proposal",
    "ProposalEvent",
    "ProposalStatus",
    "ProposalTranslation",
    "Support",
]


class ProposalStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    FEASIBLE = "feasible", _("On the ballot")
    NOT_FEASIBLE = "not_feasible", _("Not feasible")
    MERGED = "merged", _("Merged into another proposal")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class Proposal(models.Model):
    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="proposals")
    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="proposals")
    theme = models.ForeignKey(
        Theme, null=True, blank=True, on_delete=models.SET_NULL, related_name="proposals"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="proposals",
    )
    title = models.CharField(max_length=140)
    description = models.TextField()
    estimated_cost = models.PositiveBigIntegerField(help_text=_("In pence."))
    council_cost = models.PositiveBigIntegerField(null=True, blank=True)
    latitude = models.DecimalField(max_digits=8, decimal_places=5, null=True, blank=True)
    longitude = models.DecimalField(max_digits=8, decimal_places=5, null=True, blank=True)
    image = models.FileField(upload_to="proposals/", blank=True)
    image_alt = models.CharField(max_length=200, blank=True)
    group_name = models.CharField(max_length=140, blank=True)
    group_contact = models.CharField(max_length=200, blank=True)
    # The language the author wrote in, so pages mark it up (lang) for screen readers and
    # managers know what to translate from.
    language = models.CharField(max_length=10, choices=settings.LANGUAGES, default="en-gb")

    status = models.CharField(
        max_length=20, choices=ProposalStatus.choices, default=ProposalStatus.DRAFT
    )
    public_reason = models.TextField(blank=True)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_from"
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    hidden = models.BooleanField(default=False)
    hidden_reason = models.TextField(blank=True)
    image_hidden = models.BooleanField(default=False)
    support_count = models.PositiveIntegerField(default=0)

    created_at = models.DateTimeField(auto_now_add=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["round", "area", "status"])]

    def __str__(self) -> str:
        return self.title

    @property
    def cost(self) -> int:
        """The cost that counts on the ballot: the council's estimate once it has one."""
        return self.council_cost if self.council_cost is not None else self.estimated_cost

    @property
    def is_draft(self) -> bool:
        """Not submitted yet: only its author sees it."""
        return self.status == ProposalStatus.DRAFT

    @property
    def awaiting_review(self) -> bool:
        """Submitted, and no reviewer has decided on it yet."""
        return self.status == ProposalStatus.SUBMITTED


class ProposalTranslation(models.Model):
    """A manager's translation of a proposal's title and summary into another language.

    The ballot shows it to voters reading that language, with the author's own words a click
    away: the original stays what was proposed and reviewed.
    """

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="translations")
    language = models.CharField(max_length=10, choices=settings.LANGUAGES)
    title = models.CharField(max_length=140)
    summary = models.TextField()
    translated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["language"]
        constraints = [
            models.UniqueConstraint(
                fields=["proposal", "language"], name="one_translation_per_language"
            )
        ]

    def __str__(self) -> str:
        return f"{self.proposal} ({self.language})"


class ProposalEvent(models.Model):
    """One line of a proposal's public history (submitted, reviewed, merged, hidden...)."""

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=20, choices=ProposalStatus.choices)
    text = models.TextField()

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return self.text


class Support(models.Model):
    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="supports")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["proposal", "user"], name="one_support_per_person")
        ]

    def __str__(self) -> str:
        return f"Support for {self.proposal}"


class DetailsRead(models.Model):
    """A signed-in resident opened a proposal's page in this round; kept once, the first time.

    It exists for one Brisbane deliberation figure only: the share of voters who read a
    proposal's details before they voted. It says nothing about which proposal was read.
    """

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    first_read_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["round", "user"], name="details_read_once_per_round")
        ]

    def __str__(self) -> str:
        return f"Details read in {self.round}"


class CommentStance(models.TextChoices):
    """Like a room's arguments: a comment says where it stands on the proposal."""

    FOR = "for", _("For")
    AGAINST = "against", _("Against")
    NEUTRAL = "neutral", _("Neutral")


class Comment(models.Model):
    """A resident's comment on a proposal, or a reply to one (one level: replies have no replies).

    Written while the round's phase allows comments (``pb.phases``); hidden by a manager of the
    proposal's area with a public reason shown in place of the text."""

    MAX_LENGTH = 2000

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="comments")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="replies"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    text = models.TextField(max_length=MAX_LENGTH)
    stance = models.CharField(max_length=10, choices=CommentStance.choices)
    # The language the resident wrote in, so pages mark it up (lang) for screen readers.
    language = models.CharField(max_length=10, choices=settings.LANGUAGES, default="en-gb")
    created_at = models.DateTimeField(auto_now_add=True)
    flag_count = models.PositiveIntegerField(default=0)
    hidden = models.BooleanField(default=False)
    hidden_reason = models.TextField(blank=True)
    hidden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    hidden_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["proposal", "created_at"], name="comment_by_proposal")]

    def __str__(self) -> str:
        return f"Comment {self.pk} on {self.proposal_id}"


class CommentFlag(models.Model):
    """A resident's flag on a comment, for the area's managers to look at; once per person."""

    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="flags")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["comment", "user"], name="one_flag_per_person")
        ]

    def __str__(self) -> str:
        return f"Flag on comment {self.comment_id}"

"""Live deliberation rooms: who said what, how people reacted, and how the room was run.

``RoomEvent`` is the room's log: every change is written there with a per-room sequence number
in the same transaction as the change itself, then broadcast after commit. Pages, venue screens
and reconnecting clients are all rebuilt from that log (``deliberation.selectors``); the other
tables hold the current facts the services need to validate the next change (who is muted,
who has their hand up, which option a person chose).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

TEXT_LIMIT = 2000


class RoomState(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")


class Room(models.Model):
    """A facilitated session about a round, optionally narrowed to an area or one proposal."""

    round = models.ForeignKey("pb.Round", on_delete=models.CASCADE, related_name="rooms")
    area = models.ForeignKey(
        "pb.Area", null=True, blank=True, on_delete=models.PROTECT, related_name="rooms"
    )
    proposal = models.ForeignKey(
        "pb.Proposal", null=True, blank=True, on_delete=models.SET_NULL, related_name="rooms"
    )
    title = models.CharField(max_length=160)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=10, choices=RoomState.choices, default=RoomState.SCHEDULED)
    facilitators = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="facilitated_rooms"
    )
    summary = models.TextField(blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    current_item = models.ForeignKey(
        "AgendaItem", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    timer_ends_at = models.DateTimeField(null=True, blank=True)
    #: The sequence number of the room's latest event; the next event takes ``last_seq + 1``
    #: while holding this row's lock, so numbers are gap-free and commit in order.
    last_seq = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["starts_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True) | Q(ends_at__gt=models.F("starts_at")),
                name="room_ends_after_start",
            )
        ]

    def __str__(self) -> str:
        return self.title


class AgendaItem(models.Model):
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="agenda")
    position = models.PositiveSmallIntegerField()
    title = models.CharField(max_length=200)
    minutes = models.PositiveSmallIntegerField(null=True, blank=True)
    proposals = models.ManyToManyField("pb.Proposal", blank=True, related_name="agenda_items")

    class Meta:
        ordering = ["room", "position"]
        constraints = [
            models.UniqueConstraint(fields=["room", "position"], name="unique_agenda_position")
        ]

    def __str__(self) -> str:
        return self.title


class ContributionKind(models.TextChoices):
    MESSAGE = "message", _("Message")
    FOR = "for", _("Argument for")
    AGAINST = "against", _("Argument against")
    QUESTION = "question", _("Question")


class Contribution(models.Model):
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="contributions")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="contributions"
    )
    kind = models.CharField(
        max_length=10, choices=ContributionKind.choices, default=ContributionKind.MESSAGE
    )
    text = models.TextField(max_length=TEXT_LIMIT)
    # The language it was written in (the writer's page language), shown as its lang attribute.
    language = models.CharField(max_length=10, choices=settings.LANGUAGES, default="en-gb")
    reply_to = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replies"
    )
    proposal = models.ForeignKey(
        "pb.Proposal",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="contributions",
    )
    hidden = models.BooleanField(default=False)
    hidden_reason = models.TextField(blank=True)
    pinned = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["proposal", "kind", "hidden"])]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind__in=["for", "against"]) | Q(proposal__isnull=False),
                name="argument_names_a_proposal",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} by {self.author}"


class ReactionKind(models.TextChoices):
    AGREE = "agree", _("Agree")
    DISAGREE = "disagree", _("Disagree")
    UNSURE = "unsure", _("Unsure")


class Reaction(models.Model):
    contribution = models.ForeignKey(
        Contribution, on_delete=models.CASCADE, related_name="reactions"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=ReactionKind.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["contribution", "user"], name="one_reaction_per_person")
        ]

    def __str__(self) -> str:
        return f"{self.kind} on {self.contribution_id}"


class HandRaise(models.Model):
    """The speaker queue: open raises in the order they were made."""

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="hands")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    raised_at = models.DateTimeField(auto_now_add=True)
    lowered_at = models.DateTimeField(null=True, blank=True)
    called_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["raised_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["room", "user"],
                condition=Q(lowered_at__isnull=True, called_at__isnull=True),
                name="one_raised_hand_per_person",
            )
        ]

    def __str__(self) -> str:
        return f"Hand of {self.user} in {self.room}"


class Poll(models.Model):
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="polls")
    question = models.CharField(max_length=300)
    show_live = models.BooleanField(
        default=True, help_text=_("Show results while the poll is open, not only at its close.")
    )
    opened_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["opened_at", "id"]

    def __str__(self) -> str:
        return self.question


class PollOption(models.Model):
    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="options")
    position = models.PositiveSmallIntegerField()
    text = models.CharField(max_length=200)

    class Meta:
        ordering = ["poll", "position"]

    def __str__(self) -> str:
        return self.text


class PollVote(models.Model):
    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="votes")
    option = models.ForeignKey(PollOption, on_delete=models.CASCADE, related_name="votes")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["poll", "user"], name="one_poll_vote_per_person")
        ]

    def __str__(self) -> str:
        return f"Vote in poll {self.poll_id}"


class Mute(models.Model):
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="mutes")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    reason = models.TextField()
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["room", "user"], name="one_mute_per_person_and_room")
        ]

    def __str__(self) -> str:
        return f"{self.user} muted in {self.room}"


class RoomEvent(models.Model):
    """One entry of a room's log; ``data`` is exactly what clients receive."""

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="events")
    seq = models.PositiveBigIntegerField()
    type = models.CharField(max_length=20)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["room", "seq"]
        constraints = [models.UniqueConstraint(fields=["room", "seq"], name="unique_seq_per_room")]

    def __str__(self) -> str:
        return f"{self.room_id}#{self.seq} {self.type}"

"""Voting models: voter codes, who voted (``Participation``), what was voted (``Ballot``), and
the ballots waiting to be sealed, receipts, kiosks, paper, decision days and the register.

Imported by ``pb.models``, so they belong to the ``pb`` app. None of them links a
person to what they voted: a kiosk session knows the staff member who unlocked it, a paper entry
knows who keyed it, but neither knows the voter.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from pb.areas.models import Area
from pb.rounds.models import Round

__all__ = [
    "Ballot",
    "Channel",
    "DecisionDay",
    "KioskSession",
    "PaperBallot",
    "PaperEntry",
    "PaperStatus",
    "Participation",
    "ParticipationQuerySet",
    "PendingBallot",
    "Receipt",
    "RegisterEntry",
    "SurveyCode",
    "VoterCode",
]


class Channel(models.TextChoices):
    ONLINE = "online", _("Online")
    KIOSK = "kiosk", _("Kiosk")
    PAPER = "paper", _("Paper")


class VoterCode(models.Model):
    """A one-time code printed on a letter or handed out at the door, stored as a keyed hash."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="voter_codes")
    area = models.ForeignKey(Area, null=True, blank=True, on_delete=models.CASCADE)
    code_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateField(auto_now_add=True)
    #: The resident the letter is addressed to, for codes issued from the register; None for
    #: anonymous codes (handed out at an event's door).
    register_entry = models.ForeignKey(
        "pb.RegisterEntry",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="voter_codes",
    )
    #: Made at a kiosk desk for a resident just found and ticked on the register
    #: (``pb.voting.services.desk``): one per resident and round, so two desks cannot both
    #: hand the same person a code.
    at_desk = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["round", "register_entry"],
                condition=Q(at_desk=True),
                name="one_desk_code_per_register_entry",
            )
        ]

    def __str__(self) -> str:
        return f"Voter code for {self.round}"


class ParticipationQuerySet(models.QuerySet):
    def ballots(self) -> ParticipationQuerySet:
        """One row per ballot cast or keyed: without the paper desks' ticks (``desk_tick``),
        whose ballots are keyed as paper and counted there."""
        return self.filter(desk_tick=False)


class Participation(models.Model):
    """*Who* voted in a round. Unique per voter, per code and per register entry: this decides a
    second vote."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="participations")
    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="+")
    voter = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    voter_code = models.OneToOneField(
        VoterCode, null=True, blank=True, on_delete=models.PROTECT, related_name="participation"
    )
    channel = models.CharField(max_length=10, choices=Channel.choices)
    age_band = models.CharField(max_length=10, blank=True)
    voted_on = models.DateField()
    #: The resident on the register who voted, whenever the channel knows it (an account
    #: matched to the register, a code issued to a named entry): one vote per resident
    #: whatever the channel. Who voted, never how: nothing links it to a ballot.
    register_entry = models.ForeignKey(
        "pb.RegisterEntry",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="participations",
    )
    #: A paper desk ticked this resident on the register before handing them a paper: the
    #: tick says *that* they voted (and holds their one vote), but it is not a ballot. The
    #: paper, keyed later, writes its own participation without a name, so turnout counts
    #: participations that are not ticks (``Participation.objects.ballots()``).
    desk_tick = models.BooleanField(default=False, db_default=False)

    objects = ParticipationQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["round", "voter"],
                condition=Q(voter__isnull=False),
                name="one_vote_per_voter",
            ),
            models.UniqueConstraint(
                fields=["round", "register_entry"],
                condition=Q(register_entry__isnull=False),
                name="one_vote_per_register_entry",
            ),
        ]
        # Turnout by area and channel is counted from this index (pb.voting.selectors.turnout).
        indexes = [models.Index(fields=["round", "area", "channel"], name="participation_turnout")]

    def __str__(self) -> str:
        return f"Participation in {self.round}"


class Ballot(models.Model):
    """*What* was voted, as the count reads it: written only by sealing (``pb.voting.sealing``).

    A cast writes a ``PendingBallot`` next to its ``Participation``; sealing moves pending
    ballots here in shuffled batches of at least 20, so nothing on this row (its random key,
    its ``xmin``, its place on disk, the day of its batch) points back to the cast. The receipt
    hash is kept apart, in ``Receipt``, so a receipt proves a ballot was counted, not what it
    chose.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="ballots")
    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    selections = models.JSONField()
    #: The day its batch was sealed: the same for every ballot of a batch.
    sealed_on = models.DateField()

    def __str__(self) -> str:
        return f"Ballot {self.pk}"


class PendingBallot(models.Model):
    """A cast ballot waiting to be sealed into the table the count reads (``pb.Ballot``).

    Written in the same transaction (on PostgreSQL the same statement) as the cast's
    ``Participation``, so a 201 loses nothing in a crash; that also makes the two rows linkable
    (same ``xmin``, neighbouring places on disk) for as long as this row lives. Sealing deletes
    it within minutes (``pb.voting.sealing``); docs/secrecy.md says what a database reader can
    learn meanwhile. No timestamp: the sealed ballot gets its batch's day.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # No index of their own: the cell index below starts with the round, and every index is
    # one more write on the casting path.
    round = models.ForeignKey(
        "pb.Round", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    area = models.ForeignKey("pb.Area", on_delete=models.PROTECT, related_name="+", db_index=False)
    channel = models.CharField(max_length=10)
    selections = models.JSONField()
    receipt_hash = models.CharField(max_length=64, unique=True)

    class Meta:
        # A cast counts its cell's pending ballots (pb.voting.sealing seals by cell).
        indexes = [
            models.Index(fields=["round", "area", "channel"], name="pending_ballot_cell"),
        ]

    def __str__(self) -> str:
        return "Pending ballot"


class Receipt(models.Model):
    """The SHA-256 of a counted ballot's receipt code, apart from the ballot it came with.

    Sealed with its batch but shuffled on its own, so its random key and place on disk say
    nothing about which ``Ballot`` it belongs to: a receipt proves that a ballot was counted,
    never what it chose (a receipt that showed choices would let a voter prove their vote to
    whoever paid or bullied them). Per area, there are as many receipts as ballots.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    round = models.ForeignKey("pb.Round", on_delete=models.CASCADE, related_name="receipts")
    area = models.ForeignKey("pb.Area", on_delete=models.PROTECT, related_name="+")
    receipt_hash = models.CharField(max_length=64, unique=True)

    def __str__(self) -> str:
        return "Receipt"


class KioskSession(models.Model):
    """A device at an event, unlocked by staff for one round and one area.

    The device keeps the random ``id`` in its session; locking the kiosk (``locked_at``) stops
    it casting at once, wherever the device is.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    round = models.ForeignKey("pb.Round", on_delete=models.CASCADE, related_name="kiosks")
    area = models.ForeignKey("pb.Area", on_delete=models.PROTECT, related_name="+")
    label = models.CharField(max_length=60, blank=True)
    # The language each new voter first sees: a voter may switch, and the kiosk goes back to
    # this one for the next voter (at the receipt, or when left idle).
    language = models.CharField(max_length=10, choices=settings.LANGUAGES, default="en-gb")
    unlocked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    unlocked_at = models.DateTimeField(auto_now_add=True)
    locked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-unlocked_at"]

    def __str__(self) -> str:
        return f"Kiosk {self.label or str(self.pk)[:8]} for {self.round}"

    @property
    def active(self) -> bool:
        return self.locked_at is None


class PaperStatus(models.TextChoices):
    WAITING = "waiting", _("Keyed once, waiting for a second keying")
    COUNTED = "counted", _("Keyed twice, matched and counted")
    MISMATCH = "mismatch", _("The two keyings differ: waiting for a manager")
    SPOILT = "spoilt", _("Spoilt")
    RESOLVED = "resolved", _("Decided by a manager and counted")


class PaperBallot(models.Model):
    """One paper ballot, known by the serial number printed on it.

    It counts only once two different staff members keyed it the same way (or a manager decided
    a mismatch); then its ``Ballot`` row is written. There is deliberately no link to that row.
    Once the round is counted its keyings are deleted and the settled papers written again in a
    random order with only their day (``pb.voting.services.paper.paper_keyings_clear``): the
    order of keying could otherwise be lined up with the order names were ticked at the desk.
    """

    round = models.ForeignKey("pb.Round", on_delete=models.CASCADE, related_name="paper_ballots")
    serial = models.CharField(max_length=40)
    status = models.CharField(
        max_length=10, choices=PaperStatus.choices, default=PaperStatus.WAITING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decision = models.CharField(max_length=10, blank=True)
    decision_reason = models.TextField(blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    #: When it was first keyed; once its keyings are cleared after the count, only the day
    #: (``pb.voting.services.paper.paper_keyings_clear``). Set here, not ``auto_now_add``, so
    #: that clearing can write the day.
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["round", "serial"], name="one_paper_ballot_per_serial")
        ]

    def __str__(self) -> str:
        return f"Paper ballot {self.serial}"


class PaperEntry(models.Model):
    """One staff member's keying of a paper ballot: what they read on it, who keyed it and when.
    What was read is kept only until the paper is settled (two keyings match, or a manager
    decides), the keying itself only until the round is counted (``pb.voting.services.paper``)."""

    paper_ballot = models.ForeignKey(PaperBallot, on_delete=models.CASCADE, related_name="entries")
    area = models.ForeignKey("pb.Area", on_delete=models.PROTECT, related_name="+")
    keyed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    selections = models.JSONField(default=dict, blank=True)
    spoilt = models.BooleanField(default=False)
    keyed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["keyed_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["paper_ballot", "keyed_by"], name="one_keying_per_person"
            )
        ]

    def __str__(self) -> str:
        return f"Keying of {self.paper_ballot}"

    def same_as(self, other: PaperEntry) -> bool:
        return (
            self.area_id == other.area_id
            and self.spoilt == other.spoilt
            and (self.spoilt or self.selections == other.selections)
        )


class DecisionDay(models.Model):
    """The state of an "In your hands" event: when it opened and closed, how far the reveal got."""

    round = models.OneToOneField("pb.Round", on_delete=models.CASCADE, related_name="decision_day")
    opened_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    revealed = models.PositiveSmallIntegerField(
        default=0, help_text=_("How many bids the results screen has shown so far.")
    )

    def __str__(self) -> str:
        return f"Decision day of {self.round}"


class RegisterEntry(models.Model):
    """A resident as the council knows them (the electoral roll or its own list), imported by
    a manager of their area (``pb.services.register``).

    It says who may vote and, once they have, that they did: a participation points here,
    never a ballot, so the register tells a database reader who voted, never how. ``match_key``
    is the name, postcode and birth year with case and spaces ignored, the form accounts are
    matched on; one entry per key and area.
    """

    area = models.ForeignKey("pb.Area", on_delete=models.PROTECT, related_name="register_entries")
    name = models.CharField(max_length=200)
    postcode = models.CharField(max_length=10)
    birth_year = models.PositiveSmallIntegerField()
    match_key = models.CharField(max_length=260)
    imported_on = models.DateField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["area", "match_key"], name="one_register_entry_per_person"
            )
        ]
        indexes = [models.Index(fields=["match_key"], name="register_match_key")]

    def __str__(self) -> str:
        return f"Register entry in {self.area_id}"


class SurveyCode(models.Model):
    """A one-time code for the influence survey, for a voter without an account to answer it:
    printed on a voter code's or kiosk's receipt, or on a slip handed out with a paper ballot.

    Stored only as its keyed hash, with the round, the area and the channel (the survey's
    figures go by area), and nothing else: no time, no person, no ballot. The id is random, so
    neither it nor the row's place links a code to the ballot cast just before it was made.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    round = models.ForeignKey("pb.Round", on_delete=models.CASCADE, related_name="+")
    area = models.ForeignKey("pb.Area", on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(max_length=10)
    code_hash = models.CharField(max_length=64, unique=True)
    used = models.BooleanField(default=False)

    def __str__(self) -> str:
        return "Survey code"


class CodeRefusal(models.Model):
    """One voter code (or survey code) refused to one client: ``pb.voting.throttles`` counts a
    client's refusals within its window and stops the client for a while once there are too
    many. Kept in PostgreSQL, not Redis, so the casting statement itself can refuse a stopped
    client (one round trip per cast, none to Redis: docs/voting-performance.md).

    ``client`` is a keyed hash of the throttle's scope and the client's address (or kiosk), so a
    copy of the database names no address; the rows say when, never which code. A refusal is
    deleted once it is older than the window (``VOTER_CODE_FAILURES``), by the next refusal.
    """

    client = models.CharField(max_length=64)
    at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["client", "at"], name="coderefusal_client_at"),
            models.Index(fields=["at"], name="coderefusal_at"),
        ]

    def __str__(self) -> str:
        return "Code refusal"

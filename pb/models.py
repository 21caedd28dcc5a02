"""Areas, rounds and their phases, proposals and review, ballots and tallies.

Money is stored as integers in minor units (pence, cents) so that a split of the budget between
areas can be exact to the penny; forms and templates show it in major units.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from enum import StrEnum
from fractions import Fraction
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from pb import phases
from pb.phases import Phase


class AreaKind(models.TextChoices):
    WARD = "ward", _("Ward")
    NEIGHBOURHOOD = "neighbourhood", _("Neighbourhood")


CENSUS_QUESTIONS = ("age_band", "gender", "ethnicity", "disability")


def validate_census(value: Any) -> None:
    """``{"gender": {"woman": 10400, "man": 9800, ...}, "age_band": {...}}``: people per group."""
    if not isinstance(value, dict):
        raise ValidationError(_("Give the census as groups of people per question."))
    for question, groups in value.items():
        if question not in CENSUS_QUESTIONS:
            raise ValidationError(
                _("Unknown census question “%(q)s”: use %(known)s."),
                params={"q": question, "known": ", ".join(CENSUS_QUESTIONS)},
            )
        if not isinstance(groups, dict) or not all(
            isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in groups.values()
        ):
            raise ValidationError(
                _("Census figures for “%(q)s” must be whole numbers of people, 0 or more."),
                params={"q": question},
            )


class Area(models.Model):
    """A ward or a neighbourhood inside a ward, with the people who answer for it."""

    name = models.CharField(max_length=120)
    slug = models.SlugField(unique=True)
    kind = models.CharField(max_length=20, choices=AreaKind.choices, default=AreaKind.WARD)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    population = models.PositiveIntegerField(default=0)
    census = models.JSONField(
        default=dict,
        blank=True,
        validators=[validate_census],
        help_text=_(
            "People per group, for the inclusion report: "
            '{"gender": {"woman": 10400, "man": 9800}, "age_band": {"16_24": 2100, ...}}. '
            "Leave empty when not known."
        ),
    )
    managers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="managed_areas"
    )
    councillors = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="represented_areas"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def self_and_ancestors(self) -> Iterator[Area]:
        """This area, then the ward around it, and so on up, one at a time (so a caller that
        finds what it wants stops reading); a loop in the data ends the walk."""
        node: Area | None = self
        seen: set[int] = set()
        while node is not None and node.pk not in seen:
            yield node
            seen.add(node.pk)
            node = node.parent

    def lies_within(self, area_id: int) -> bool:
        """A neighbourhood lies within itself and the ward around it."""
        return any(a.pk == area_id for a in self.self_and_ancestors())


class Theme(models.Model):
    name = models.CharField(max_length=80, unique=True)
    slug = models.SlugField(unique=True)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AreaNeed(models.Model):
    """How much an area lacks a service (0 = nothing lacking, 100 = lacks it entirely)."""

    area = models.ForeignKey(Area, on_delete=models.CASCADE, related_name="needs")
    theme = models.ForeignKey(Theme, on_delete=models.CASCADE, related_name="needs")
    need_index = models.PositiveSmallIntegerField(validators=[MaxValueValidator(100)])

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["area", "theme"], name="unique_need_per_area_theme")
        ]

    def __str__(self) -> str:
        return f"{self.area} needs {self.theme}: {self.need_index}"


class RoundStyle(models.TextChoices):
    CITY = "city", _("City round (budget split between areas)")
    DECISION_DAY = "decision_day", _("Decision day (groups bid for one pot)")


class BallotType(models.TextChoices):
    APPROVAL_BUDGET = "approval_budget", _("Choose projects up to the budget")
    APPROVAL_COUNT = "approval_count", _("Choose a number of projects")
    SCORE = "score", _("Score every bid")
    CUMULATIVE = "cumulative", _("Spread points")
    RANKING = "ranking", _("Rank your favourites")


class CountingRule(models.TextChoices):
    GREEDY = "greedy", _("Most votes first, skipping what does not fit")
    GREEDY_THRESHOLD = "greedy-threshold", _("Most votes first, above a minimum support")
    MES = "mes", _("Method of Equal Shares, then most votes first")
    MES_ADD1 = "mes-add1", _("Method of Equal Shares with budget increase")


#: A round's rules for casting: its money, who may vote and how a ballot is filled in (what
#: casting reads, ``pb.voting.services.casting.CASTING_FIELDS``).
BALLOT_RULE_FIELDS: tuple[str, ...] = (
    "budget",
    "currency",
    "min_age",
    "require_residence",
    "voter_codes_enabled",
    "ballot_type",
    "min_choices",
    "max_choices",
    "points_total",
    "score_max",
    "rank_k",
    "groups_score_own_bid",
)
#: All of a round's rules: the ballot's, then how it is counted. Managers change these (through
#: ``pb.services.rounds``) and the API shows them.
RULE_FIELDS: tuple[str, ...] = (
    *BALLOT_RULE_FIELDS,
    "anonymous_codes",
    "rule",
    "min_share",
    "unspent_money",
    "support_threshold",
)


class UnspentMoney(models.TextChoices):
    """What happens to money an area's count leaves unspent (``pb.counting.unspent``)."""

    CARRY = "carry", _("Carried to the next round")
    SECOND_PASS = "second_pass", _("A second pass across areas")


UNSPENT_MONEY_HELP = _(
    "City rounds only: what happens to money an area does not spend after its count. "
    "“Carried to the next round” keeps each area's leftover for the council's next round. "
    "“A second pass across areas” pools every area's leftover and funds the projects that "
    "missed out, best first (by the share of their own area's voters who supported them), "
    "each if it still fits; whatever is left after that is carried to the next round."
)


# The most supports a round may ask for: far above any real area, well inside the column.
MAX_SUPPORT_THRESHOLD = 1_000_000

SUPPORT_THRESHOLD_HELP = _(
    "Optional. Proposals with at least this many supports from residents go forward to the "
    "council's review; the others are listed apart and cannot go on the ballot. Leave empty to "
    "review every proposal."
)


class Round(models.Model):
    """One participatory budgeting round: its money, rules, areas and dated phases."""

    name = models.CharField(max_length=160)
    slug = models.SlugField(unique=True)
    description = models.TextField(blank=True)
    style = models.CharField(max_length=20, choices=RoundStyle.choices, default=RoundStyle.CITY)
    budget = models.PositiveBigIntegerField(help_text=_("In pence (minor units)."))
    currency = models.CharField(max_length=3, default="GBP")
    areas: models.ManyToManyField[Area, RoundArea] = models.ManyToManyField(
        Area, through="RoundArea", related_name="rounds"
    )
    phase = models.CharField(max_length=20, choices=Phase.choices, default=Phase.DRAFT)

    # Eligibility
    min_age = models.PositiveSmallIntegerField(default=16)
    require_residence = models.BooleanField(
        default=True, help_text=_("Voters must live in the area they vote for.")
    )
    voter_codes_enabled = models.BooleanField(
        default=False, help_text=_("Residents may vote with a one-time code from a letter.")
    )
    anonymous_codes = models.BooleanField(
        default=False,
        help_text=_(
            "Voter codes for nobody in particular may be made, to hand out at an event's door. "
            "Otherwise codes are made only for residents on the register."
        ),
    )

    # Ballot and count
    ballot_type = models.CharField(
        max_length=20, choices=BallotType.choices, default=BallotType.APPROVAL_BUDGET
    )
    min_choices = models.PositiveSmallIntegerField(default=1)
    max_choices = models.PositiveSmallIntegerField(null=True, blank=True)
    points_total = models.PositiveSmallIntegerField(default=10)
    score_max = models.PositiveSmallIntegerField(default=10)
    rank_k = models.PositiveSmallIntegerField(default=3)
    groups_score_own_bid = models.BooleanField(default=True)
    rule = models.CharField(
        max_length=20, choices=CountingRule.choices, default=CountingRule.GREEDY
    )
    min_share = models.DecimalField(
        max_digits=5,
        decimal_places=4,
        default=0,
        validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text=_("For the threshold rule: the share of voters a project needs (0 to 1)."),
    )
    unspent_money = models.CharField(
        max_length=20,
        choices=UnspentMoney.choices,
        default=UnspentMoney.CARRY,
        help_text=UNSPENT_MONEY_HELP,
    )
    # Pre-selection (as CONSUL runs it): only proposals residents supported enough go forward.
    support_threshold = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1)], help_text=SUPPORT_THRESHOLD_HELP
    )

    # Porto Alegre
    priority_points = models.JSONField(default=list, blank=True)
    split_config = models.JSONField(default=dict, blank=True)
    split_result = models.JSONField(null=True, blank=True)
    split_published_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name

    # The phase table's answers, for templates (``pb.phases`` is the one place they are decided).
    @property
    def voting_open(self) -> bool:
        return phases.allows(self.phase, phases.Action.VOTE)

    @property
    def voting_closed(self) -> bool:
        return phases.is_closed(self.phase)

    @property
    def results_out(self) -> bool:
        return phases.has_results(self.phase)

    @property
    def event_desks_open(self) -> bool:
        return phases.Phase(self.phase) in phases.EVENT_PHASES

    # Its style and counting rule, for templates (which then name no choice by its value).
    @property
    def is_city(self) -> bool:
        """A city round: the budget is split between areas, each with its own ballot."""
        return self.style == RoundStyle.CITY

    @property
    def is_decision_day(self) -> bool:
        """A decision day: groups bid for one pot, on one ballot."""
        return self.style == RoundStyle.DECISION_DAY

    @property
    def threshold_share(self) -> Fraction | None:
        """The share of voters a project needs under the threshold rule; ``None`` under any
        other rule (the count and the recount command line both take it from here)."""
        if self.rule != CountingRule.GREEDY_THRESHOLD or self.min_share is None:
            return None
        # The share of voters (0 to 1), exact, as the engine and its command line take it.
        return Fraction(str(self.min_share))


class RoundArea(models.Model):
    """An area taking part in a round, with the money the split gave it."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="round_areas")
    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="round_areas")
    allocation = models.PositiveBigIntegerField(null=True, blank=True)
    override_reason = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["round", "area"], name="unique_area_per_round")
        ]

    def __str__(self) -> str:
        return f"{self.area} in {self.round}"


class PhaseWindow(models.Model):
    """When a phase of a round opens and closes; beat moves the round along these dates."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="phase_windows")
    phase = models.CharField(max_length=20, choices=Phase.choices)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()

    class Meta:
        ordering = ["starts_at"]
        constraints = [
            models.UniqueConstraint(fields=["round", "phase"], name="unique_window_per_phase"),
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="window_ends_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_phase_display()} of {self.round}"


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


class ThemeRanking(models.Model):
    """A resident's ranking of themes for their area in the priorities phase."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="theme_rankings")
    area = models.ForeignKey(Area, on_delete=models.CASCADE, related_name="theme_rankings")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    theme = models.ForeignKey(Theme, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveSmallIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["round", "user", "theme"], name="theme_ranked_once"),
            models.UniqueConstraint(
                fields=["round", "user", "position"], name="one_theme_per_position"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.theme} #{self.position}"


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


# --- Voting ---------------------------------------------------------------------------------


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


class Tally(models.Model):
    """A stored count: rule, the hash of its inputs, the outcome and the explanations."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="tallies")
    area = models.ForeignKey(Area, null=True, blank=True, on_delete=models.CASCADE)
    rule = models.CharField(max_length=20, choices=CountingRule.choices)
    inputs_hash = models.CharField(max_length=64)
    outcome = models.JSONField()
    seconds = models.FloatField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["round", "area", "inputs_hash"], name="one_tally_per_input"
            )
        ]

    def __str__(self) -> str:
        return f"{self.rule} tally of {self.round}"


# Voting's own models live in pb/voting/models.py; importing them here registers them with the app.
from pb.voting.models import *  # noqa: E402, F403


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

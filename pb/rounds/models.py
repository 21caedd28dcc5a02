"""Rounds: their money, rules, areas and dated phases.

Money is stored as integers in minor units (pence, cents) so that a split of the budget between
areas can be exact to the penny; forms and templates show it in major units. Imported by
``pb.models``, so they belong to the ``pb`` app and keep their tables."""

from __future__ import annotations

from fractions import Fraction

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from pb import phases
from pb.areas.models import Area
from pb.phases import Phase

__all__ = [
    "BALLOT_RULE_FIELDS",
    "MAX_SUPPORT_THRESHOLD",
    "RULE_FIELDS",
    "SUPPORT_THRESHOLD_HELP",
    "UNSPENT_MONEY_HELP",
    "BallotType",
    "CountingRule",
    "PhaseWindow",
    "Round",
    "RoundArea",
    "RoundStyle",
    "UnspentMoney",
]


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
#: ``pb.rounds.services``) and the API shows them.
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

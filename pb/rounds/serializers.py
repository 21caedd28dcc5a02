"""The API's shapes for rounds: a round with its areas, phase windows and published split, a new
round, its rules and a phase move."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from pb.areas.models import Area
from pb.money import MAX_MONEY
from pb.phases import Phase
from pb.rounds.models import (
    MAX_SUPPORT_THRESHOLD,
    RULE_FIELDS,
    SUPPORT_THRESHOLD_HELP,
    UNSPENT_MONEY_HELP,
    BallotType,
    CountingRule,
    PhaseWindow,
    Round,
    RoundArea,
    RoundStyle,
    UnspentMoney,
)
from pb.serializers import AreaSerializer


class PhaseWindowSerializer(serializers.ModelSerializer):
    class Meta:
        model = PhaseWindow
        fields = ["phase", "starts_at", "ends_at"]


class RoundAreaSerializer(serializers.ModelSerializer):
    """An area of a round; its allocation and the reason for an override stay null until the
    split is published (the split page is where managers work on them before that)."""

    area = AreaSerializer(read_only=True)
    allocation = serializers.SerializerMethodField()
    override_reason = serializers.SerializerMethodField()

    class Meta:
        model = RoundArea
        fields = ["area", "allocation", "override_reason"]

    def get_allocation(self, obj: RoundArea) -> int | None:
        return obj.allocation if obj.round.split_published_at else None

    def get_override_reason(self, obj: RoundArea) -> str | None:
        return obj.override_reason if obj.round.split_published_at else None


class RoundSerializer(serializers.ModelSerializer):
    round_areas = RoundAreaSerializer(many=True, read_only=True)
    phase_windows = PhaseWindowSerializer(many=True, read_only=True)
    split = serializers.SerializerMethodField()

    class Meta:
        model = Round
        fields = [
            "id",
            "name",
            "slug",
            "description",
            "style",
            "phase",
            *RULE_FIELDS,
            "round_areas",
            "phase_windows",
            "split",
            "split_published_at",
        ]

    def get_split(self, obj: Round) -> dict[str, Any] | None:
        return obj.split_result if obj.split_published_at else None


class RoundRuleFields(serializers.Serializer):
    """The rules a round is made with and may change later: one declaration for both."""

    min_age = serializers.IntegerField(required=False, min_value=0, max_value=120)
    anonymous_codes = serializers.BooleanField(
        required=False, help_text="Codes not tied to a register entry may be made (door codes)."
    )
    ballot_type = serializers.ChoiceField(choices=BallotType.choices, required=False)
    rule = serializers.ChoiceField(choices=CountingRule.choices, required=False)
    unspent_money = serializers.ChoiceField(
        choices=UnspentMoney.choices, required=False, help_text=UNSPENT_MONEY_HELP
    )
    support_threshold = serializers.IntegerField(
        min_value=1,
        max_value=MAX_SUPPORT_THRESHOLD,
        required=False,
        allow_null=True,
        help_text=SUPPORT_THRESHOLD_HELP,
    )


class RoundCreateSerializer(RoundRuleFields):
    name = serializers.CharField(max_length=160)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    style = serializers.ChoiceField(choices=RoundStyle.choices, default=RoundStyle.CITY)  # type: ignore[assignment]
    budget = serializers.IntegerField(help_text="In pence (minor units).", max_value=MAX_MONEY)
    areas = serializers.PrimaryKeyRelatedField(queryset=Area.objects.all(), many=True)


class RoundRulesSerializer(RoundRuleFields):
    budget = serializers.IntegerField(required=False, max_value=MAX_MONEY)
    require_residence = serializers.BooleanField(required=False)
    voter_codes_enabled = serializers.BooleanField(required=False)
    min_share = serializers.DecimalField(
        max_digits=5, decimal_places=4, min_value=0, max_value=1, required=False
    )
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class AdvancePhaseSerializer(serializers.Serializer):
    to_phase = serializers.ChoiceField(choices=Phase.choices)
    reason = serializers.CharField(allow_blank=True)

"""API input and output shapes. Domain rules are in the services, not here."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from pb.areas.models import Area, Theme
from pb.models import AuditEntry
from pb.money import MAX_MONEY
from pb.phases import Phase
from pb.proposals.models import Proposal, ProposalEvent, ProposalStatus
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


class AreaSerializer(serializers.ModelSerializer):
    class Meta:
        model = Area
        fields = ["id", "name", "slug", "kind", "parent", "population"]


class ThemeSerializer(serializers.ModelSerializer):
    class Meta:
        model = Theme
        fields = ["id", "name", "slug", "description"]


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


class RoundCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=160)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    style = serializers.ChoiceField(choices=RoundStyle.choices, default=RoundStyle.CITY)  # type: ignore[assignment]
    budget = serializers.IntegerField(help_text="In pence (minor units).", max_value=MAX_MONEY)
    areas = serializers.PrimaryKeyRelatedField(queryset=Area.objects.all(), many=True)
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


class RoundRulesSerializer(serializers.Serializer):
    budget = serializers.IntegerField(required=False, max_value=MAX_MONEY)
    min_age = serializers.IntegerField(required=False, min_value=0, max_value=120)
    require_residence = serializers.BooleanField(required=False)
    voter_codes_enabled = serializers.BooleanField(required=False)
    anonymous_codes = serializers.BooleanField(
        required=False, help_text="Codes not tied to a register entry may be made (door codes)."
    )
    ballot_type = serializers.ChoiceField(choices=BallotType.choices, required=False)
    rule = serializers.ChoiceField(choices=CountingRule.choices, required=False)
    min_share = serializers.DecimalField(
        max_digits=5, decimal_places=4, min_value=0, max_value=1, required=False
    )
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
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class AdvancePhaseSerializer(serializers.Serializer):
    to_phase = serializers.ChoiceField(choices=Phase.choices)
    reason = serializers.CharField(allow_blank=True)


class ProposalEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = ProposalEvent
        fields = ["at", "status", "text"]


class ProposalSerializer(serializers.ModelSerializer):
    cost = serializers.IntegerField(read_only=True)
    title = serializers.SerializerMethodField()
    description = serializers.SerializerMethodField()

    class Meta:
        model = Proposal
        fields = [
            "id",
            "round",
            "area",
            "theme",
            "title",
            "description",
            "estimated_cost",
            "council_cost",
            "cost",
            "latitude",
            "longitude",
            "group_name",
            "status",
            "public_reason",
            "merged_into",
            "hidden",
            "hidden_reason",
            "support_count",
            "submitted_at",
        ]

    def get_title(self, obj: Proposal) -> str:
        return "Hidden proposal" if obj.hidden else obj.title

    def get_description(self, obj: Proposal) -> str:
        return "" if obj.hidden else obj.description


class ProposalDetailSerializer(ProposalSerializer):
    events = ProposalEventSerializer(many=True, read_only=True)

    class Meta(ProposalSerializer.Meta):
        fields = [*ProposalSerializer.Meta.fields, "events"]


class ProposalWriteSerializer(serializers.Serializer):
    round = serializers.PrimaryKeyRelatedField(queryset=Round.objects.all())
    area = serializers.PrimaryKeyRelatedField(queryset=Area.objects.all())
    theme = serializers.PrimaryKeyRelatedField(
        queryset=Theme.objects.all(), required=False, allow_null=True
    )
    title = serializers.CharField(max_length=140, allow_blank=True)
    description = serializers.CharField(allow_blank=True)
    estimated_cost = serializers.IntegerField(help_text="In pence.", max_value=MAX_MONEY)
    latitude = serializers.DecimalField(
        max_digits=8, decimal_places=5, required=False, min_value=-90, max_value=90
    )
    longitude = serializers.DecimalField(
        max_digits=8, decimal_places=5, required=False, min_value=-180, max_value=180
    )
    group_name = serializers.CharField(max_length=140, required=False, allow_blank=True)
    group_contact = serializers.CharField(max_length=200, required=False, allow_blank=True)
    submit = serializers.BooleanField(default=True)


class ProposalUpdateSerializer(ProposalWriteSerializer):
    round = None  # type: ignore[assignment]
    submit = serializers.BooleanField(default=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.required = False


class ReviewSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(
        choices=[ProposalStatus.FEASIBLE, ProposalStatus.NOT_FEASIBLE, ProposalStatus.MERGED]
    )
    reason = serializers.CharField(allow_blank=True)
    council_cost = serializers.IntegerField(required=False, allow_null=True, max_value=MAX_MONEY)
    merged_into = serializers.PrimaryKeyRelatedField(
        queryset=Proposal.objects.all(), required=False, allow_null=True
    )


class HideSerializer(serializers.Serializer):
    reason = serializers.CharField(allow_blank=True)
    image_only = serializers.BooleanField(default=False)


class AuditEntrySerializer(serializers.ModelSerializer):
    actor = serializers.SerializerMethodField()

    class Meta:
        model = AuditEntry
        fields = ["at", "actor", "action", "round", "proposal", "area", "reason", "details"]

    def get_actor(self, obj: AuditEntry) -> str:
        return obj.actor.email if obj.actor else "system"

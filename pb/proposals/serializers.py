"""The API's shapes for proposals: a proposal with its public history, writing one, reviewing and
hiding it."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from pb.areas.models import Area, Theme
from pb.money import MAX_MONEY
from pb.proposals.models import Proposal, ProposalEvent, ProposalStatus
from pb.rounds.models import (
    Round,
)


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

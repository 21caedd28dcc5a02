"""API shapes shared by pb's sub-domains: areas, themes and audit entries. Rounds and proposals
keep theirs in their own packages. Domain rules are in the services, not here."""

from __future__ import annotations

from rest_framework import serializers

from pb.areas.models import Area, Theme
from pb.models import AuditEntry


class AreaSerializer(serializers.ModelSerializer):
    class Meta:
        model = Area
        fields = ["id", "name", "slug", "kind", "parent", "population"]


class ThemeSerializer(serializers.ModelSerializer):
    class Meta:
        model = Theme
        fields = ["id", "name", "slug", "description"]


class AuditEntrySerializer(serializers.ModelSerializer):
    actor = serializers.SerializerMethodField()

    class Meta:
        model = AuditEntry
        fields = ["at", "actor", "action", "round", "proposal", "area", "reason", "details"]

    def get_actor(self, obj: AuditEntry) -> str:
        return obj.actor.email if obj.actor else "system"

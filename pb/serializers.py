from __future__ import annotations

from rest_framework import serializers

from pb.models import Area, Round


class AreaSerializer(serializers.ModelSerializer):
    class Meta:
        model = Area
        fields = ["id", "name", "slug", "kind", "parent", "population"]


class RoundSerializer(serializers.ModelSerializer):
    areas = AreaSerializer(many=True, read_only=True)

    class Meta:
        model = Round
        fields = ["id", "name", "slug", "description", "style", "budget", "currency", "phase",
                  "ballot_type", "rule", "areas"]

"""The count in the API: read a round's tallies, and count a closed round by hand."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from pb.counting import selectors, services
from pb.counting.models import Tally
from pb.rounds.selectors import get_visible_round


class TallySerializer(serializers.ModelSerializer[Tally]):
    area: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    outcome = serializers.SerializerMethodField()

    def get_outcome(self, tally: Tally) -> dict[str, Any]:
        """The count as every page reads it (``CountResult``), in its stored JSON shape."""
        return selectors.tally_result(tally).to_json()

    class Meta:
        model = Tally
        fields = ["id", "area", "rule", "inputs_hash", "created_at", "seconds", "outcome"]


class RoundTallyView(APIView):
    """``GET``: the newest tally of each area (or the decision day's pot), with explanations."""

    @extend_schema(responses=TallySerializer(many=True))
    def get(self, request: Request, pk: int) -> Response:
        tallies = selectors.latest_tallies(round=get_visible_round(user=request.user, pk=pk))
        return Response(TallySerializer(tallies, many=True).data)


class RoundCountView(APIView):
    """``POST``: a manager counts a closed round now (the same as when voting closes)."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=None, responses=TallySerializer(many=True))
    def post(self, request: Request, pk: int, *args: Any) -> Response:
        tallies = services.round_count(
            round=get_visible_round(user=request.user, pk=pk), actor=request.user
        )
        return Response(TallySerializer(tallies, many=True).data)

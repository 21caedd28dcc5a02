"""REST endpoints for casting ballots and reading turnout. HTTP only: the work is in services.

``POST /api/v1/rounds/{id}/ballots/`` answers 201 with the receipt, 409 when this account or
code has already voted, 400 for a malformed or ineligible ballot, 403 outside the voting phase;
every error in the one JSON shape of ``backend.api``.
"""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from pb.models import Round
from pb.phases import Phase
from pb.voting import selectors, services


class BallotInSerializer(serializers.Serializer):
    selections = serializers.JSONField(
        help_text='Approval: a list of project ids, or {"12": 1}; score and cumulative: '
        '{"12": 7}; ranking: {"12": 1, "15": 2} (1 = first choice).'
    )
    area = serializers.IntegerField(required=False, allow_null=True)
    voter_code = serializers.CharField(required=False, allow_blank=True, max_length=40)
    own_bid = serializers.IntegerField(required=False, allow_null=True)


class ReceiptSerializer(serializers.Serializer):
    receipt = serializers.CharField()
    receipt_hash = serializers.CharField()
    round = serializers.IntegerField()
    area = serializers.IntegerField()
    channel = serializers.CharField()
    cast_on = serializers.DateField()
    selections = serializers.DictField(child=serializers.IntegerField())


class BallotCreateView(APIView):
    """Cast a ballot with the signed-in account, or with ``voter_code`` when not signed in."""

    permission_classes = [permissions.AllowAny]

    @extend_schema(
        request=BallotInSerializer,
        responses={
            201: ReceiptSerializer,
            400: OpenApiResponse(description="Malformed or ineligible ballot, unknown code"),
            403: OpenApiResponse(description="The round is not in its voting phase"),
            409: OpenApiResponse(description="This account or code has already voted"),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        round_ = get_object_or_404(
            Round.objects.exclude(phase=Phase.DRAFT).only(*services.CASTING_FIELDS),
            pk=pk,
        )
        data = BallotInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields: dict[str, Any] = data.validated_data
        receipt = services.ballot_cast(
            round=round_,
            selections=fields["selections"],
            area_id=fields.get("area"),
            voter=request.user,
            voter_code=fields.get("voter_code", ""),
            own_bid=fields.get("own_bid"),
        )
        body = {
            "receipt": receipt.code,
            "receipt_hash": services.receipt_hash(receipt.code),
            "round": receipt.round_id,
            "area": receipt.area_id,
            "channel": receipt.channel,
            "cast_on": receipt.cast_on.isoformat(),
            "selections": receipt.selections,
        }
        return Response(body, status=status.HTTP_201_CREATED)


class TurnoutView(APIView):
    """Participation by area and channel, from a count refreshed every few seconds."""

    permission_classes = [permissions.AllowAny]

    @extend_schema(responses={200: OpenApiResponse(description="Turnout by area and channel")})
    def get(self, request: Request, pk: int) -> Response:
        round_ = get_object_or_404(Round.objects.exclude(phase=Phase.DRAFT), pk=pk)
        return Response(selectors.turnout(round=round_))

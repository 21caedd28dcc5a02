"""REST endpoints for proposals: list, read, write, withdraw, support, review and hide.

HTTP only: every write goes through the services, which check phase and permission, so the
API cannot do what the pages may not.
"""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from backend.accounts import rules as base_rules
from pb import rules
from pb.areas.models import Area, Theme
from pb.proposals import selectors as proposal_selectors
from pb.proposals.models import Proposal, ProposalStatus
from pb.proposals.serializers import (
    HideSerializer,
    ProposalDetailSerializer,
    ProposalSerializer,
    ProposalUpdateSerializer,
    ProposalWriteSerializer,
    ReviewSerializer,
)
from pb.proposals.services import (
    proposal_create,
    proposal_hide,
    proposal_review,
    proposal_support,
    proposal_update,
    proposal_withdraw,
)
from pb.rounds import selectors as round_selectors


@extend_schema(
    parameters=[
        OpenApiParameter("round", int),
        OpenApiParameter("area", int),
        OpenApiParameter("theme", int),
        OpenApiParameter("status", str),
        OpenApiParameter("q", str),
    ]
)
class ProposalViewSet(viewsets.ReadOnlyModelViewSet):
    def get_serializer_class(self) -> Any:
        return ProposalDetailSerializer if self.action == "retrieve" else ProposalSerializer

    def get_queryset(self) -> Any:
        params = self.request.query_params
        qs = Proposal.objects.exclude(status=ProposalStatus.DRAFT).select_related("round", "area")
        if self.action == "list" and params.get("round"):
            round_ = round_selectors.get_visible_round(
                user=self.request.user, pk=_int(params["round"])
            )
            qs = proposal_selectors.proposal_list_for_round(
                round=round_,
                area=get_object_or_404(Area, pk=_int(params["area"]))
                if params.get("area")
                else None,
                theme=get_object_or_404(Theme, pk=_int(params["theme"]))
                if params.get("theme")
                else None,
                status=params.get("status") or None,
                q=params.get("q", ""),
            )
        if self.action != "list" and base_rules.is_signed_in(self.request.user):
            qs = Proposal.objects.select_related("round", "area")
        return qs.order_by("id") if self.action == "list" and not params.get("round") else qs

    def get_object(self) -> Proposal:
        proposal = super().get_object()
        if not rules.can_see_proposal(self.request.user, proposal):
            from django.http import Http404

            raise Http404
        return proposal

    @extend_schema(request=ProposalWriteSerializer, responses={201: ProposalDetailSerializer})
    def create(self, request: Request) -> Response:
        data = ProposalWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        submit = fields.pop("submit")
        proposal = proposal_create(author=request.user, submit=submit, **fields)
        return Response(ProposalDetailSerializer(proposal).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ProposalUpdateSerializer, responses=ProposalDetailSerializer)
    def partial_update(self, request: Request, pk: str) -> Response:
        proposal = self.get_object()
        data = ProposalUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        submit = fields.pop("submit", False)
        proposal_update(actor=request.user, proposal=proposal, submit=submit, **fields)
        return Response(ProposalDetailSerializer(proposal).data)

    @extend_schema(request=None, responses=ProposalDetailSerializer)
    @action(detail=True, methods=["post"])
    def withdraw(self, request: Request, pk: str) -> Response:
        proposal = proposal_withdraw(actor=request.user, proposal=self.get_object())
        return Response(ProposalDetailSerializer(proposal).data)

    @extend_schema(request=None, responses=ProposalSerializer)
    @action(detail=True, methods=["post"])
    def support(self, request: Request, pk: str) -> Response:
        proposal = proposal_support(actor=request.user, proposal=self.get_object())
        return Response(ProposalSerializer(proposal).data)

    @extend_schema(request=ReviewSerializer, responses=ProposalDetailSerializer)
    @action(detail=True, methods=["post"])
    def review(self, request: Request, pk: str) -> Response:
        data = ReviewSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        proposal = proposal_review(
            actor=request.user, proposal=self.get_object(), **data.validated_data
        )
        return Response(ProposalDetailSerializer(proposal).data)

    @extend_schema(request=HideSerializer, responses=ProposalSerializer)
    @action(detail=True, methods=["post"])
    def hide(self, request: Request, pk: str) -> Response:
        data = HideSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        proposal = proposal_hide(
            actor=request.user, proposal=self.get_object(), **data.validated_data
        )
        return Response(ProposalSerializer(proposal).data)


def _int(value: str) -> int:
    from rest_framework.exceptions import ValidationError

    try:
        return int(value)
    except ValueError as exc:
        raise ValidationError({"filter": [f"{value!r} is not a number."]}) from exc

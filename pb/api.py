"""REST endpoints for areas, themes, rounds, proposals, reviews and the audit log.

HTTP only: every write goes through ``pb.services``, which checks phase and permission, so the
API cannot do what the pages may not.
"""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from backend.accounts import rules as base_rules
from backend.errors import NotAllowed
from pb import rules, selectors
from pb.areas.models import Area, Theme
from pb.proposals import selectors as proposal_selectors
from pb.proposals.models import Proposal, ProposalStatus
from pb.proposals.services import (
    proposal_create,
    proposal_hide,
    proposal_review,
    proposal_support,
    proposal_update,
    proposal_withdraw,
)
from pb.rounds import selectors as round_selectors
from pb.rounds.models import Round
from pb.rounds.services import round_advance_phase, round_create, round_update_rules
from pb.serializers import (
    AdvancePhaseSerializer,
    AreaSerializer,
    AuditEntrySerializer,
    HideSerializer,
    ProposalDetailSerializer,
    ProposalSerializer,
    ProposalUpdateSerializer,
    ProposalWriteSerializer,
    ReviewSerializer,
    RoundCreateSerializer,
    RoundRulesSerializer,
    RoundSerializer,
    ThemeSerializer,
)


class AreaViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Area.objects.all()
    serializer_class = AreaSerializer


class ThemeViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Theme.objects.all()
    serializer_class = ThemeSerializer


class RoundViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = RoundSerializer

    def get_queryset(self) -> Any:
        qs = round_selectors.round_list_visible(user=self.request.user)
        return qs.prefetch_related("round_areas__area", "phase_windows")

    def get_object(self) -> Round:
        """One round as every page and API view fetches it (``get_visible_round``): a round being
        prepared is "There is no such round." to all but its managers."""
        pk = str(self.kwargs["pk"])
        round_ = round_selectors.get_visible_round(
            user=self.request.user,
            pk=int(pk) if pk.isdigit() else None,
            queryset=Round.objects.prefetch_related("round_areas__area", "phase_windows"),
        )
        self.check_object_permissions(self.request, round_)
        return round_

    @extend_schema(request=RoundCreateSerializer, responses={201: RoundSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = RoundCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        round_ = round_create(actor=request.user, **data.validated_data)
        return Response(RoundSerializer(round_).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=RoundRulesSerializer, responses=RoundSerializer)
    @action(detail=True, methods=["post"], url_path="rules")
    def update_rules(self, request: Request, pk: str) -> Response:
        round_ = self.get_object()
        data = RoundRulesSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        reason = fields.pop("reason", "")
        round_update_rules(actor=request.user, round=round_, reason=reason, **fields)
        return Response(RoundSerializer(round_).data)

    @extend_schema(request=AdvancePhaseSerializer, responses=RoundSerializer)
    @action(detail=True, methods=["post"], url_path="advance")
    def advance(self, request: Request, pk: str) -> Response:
        round_ = self.get_object()
        data = AdvancePhaseSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        round_ = round_advance_phase(actor=request.user, round=round_, **data.validated_data)
        return Response(RoundSerializer(round_).data)

    @extend_schema(responses=AuditEntrySerializer(many=True))
    @action(
        detail=True,
        methods=["get"],
        url_path="audit",
        permission_classes=[permissions.IsAuthenticated],
    )
    def audit(self, request: Request, pk: str) -> Response:
        round_ = self.get_object()
        if not rules.can_read_audit(request.user, round_):
            raise NotAllowed(_("Only the round's managers and councillors can read its record."))
        page = self.paginate_queryset(selectors.audit_for_round(round=round_))
        return self.get_paginated_response(AuditEntrySerializer(page, many=True).data)


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

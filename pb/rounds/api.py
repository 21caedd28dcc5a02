"""REST endpoints for rounds: list, read, create, change rules, move the phase, read the audit
log.

HTTP only: every write goes through the services, which check phase and permission, so the
API cannot do what the pages may not.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from backend.errors import NotAllowed
from pb import rules, selectors
from pb.rounds import selectors as round_selectors
from pb.rounds.models import Round
from pb.rounds.serializers import (
    AdvancePhaseSerializer,
    RoundCreateSerializer,
    RoundRulesSerializer,
    RoundSerializer,
)
from pb.rounds.services import round_advance_phase, round_create, round_update_rules
from pb.serializers import AuditEntrySerializer


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

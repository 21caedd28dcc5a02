"""REST endpoints for areas and themes (read only). Rounds and proposals keep theirs in their own
packages (``pb.rounds.api``, ``pb.proposals.api``)."""

from __future__ import annotations

from rest_framework import viewsets

from pb.areas.models import Area, Theme
from pb.serializers import AreaSerializer, ThemeSerializer


class AreaViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Area.objects.all()
    serializer_class = AreaSerializer


class ThemeViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Theme.objects.all()
    serializer_class = ThemeSerializer

from __future__ import annotations

from rest_framework import viewsets

from pb import selectors
from pb.models import Area
from pb.serializers import AreaSerializer, RoundSerializer


class AreaViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Area.objects.all()
    serializer_class = AreaSerializer


class RoundViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = RoundSerializer

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return selectors.round_list_public()

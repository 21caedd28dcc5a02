from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from pb import selectors


def round_detail(request: HttpRequest, slug: str) -> HttpResponse:
    round_ = get_object_or_404(selectors.round_list_public(), slug=slug)
    return render(request, "pb/round_detail.html", {"round": round_})

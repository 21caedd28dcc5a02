"""REST endpoints for outcome feedback: results, open data and the report's figures.

HTTP only: reads go through ``feedback.selectors`` and ``feedback.presenter``, permissions
through ``feedback.rules``.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import permissions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.errors import NotAllowed, NotFound
from feedback import presenter, rules, selectors, services
from pb.counting import selectors as counting_selectors
from pb.rounds.models import Round
from pb.rounds.selectors import get_visible_round


def _counted(round_: Round) -> Any:
    tallies = counting_selectors.latest_tallies(round=round_)
    if not tallies:
        raise NotFound(_("The votes of this round have not been counted yet."), code="not_counted")
    return tallies


class ResultsView(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(responses={200: dict}, summary="A round's results, with why not per project")
    def get(self, request: Request, slug: str) -> Response:
        round_ = get_visible_round(user=request.user, slug=slug)
        tallies = _counted(round_)
        return Response(
            {
                "round": round_.slug,
                "rule": round_.rule,
                "rule_sentence": presenter.rule_sentence(round_),
                "recount_command": presenter.RECOUNT_COMMAND.format(rule=round_.rule),
                "areas": presenter.results_from_tallies(round=round_, tallies=tallies),
            }
        )


class OpenDataView(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(responses={200: dict}, summary="A round's open data files and their licence")
    def get(self, request: Request, slug: str) -> Response:
        round_ = get_visible_round(user=request.user, slug=slug)
        _counted(round_)
        report = selectors.report_current(round=round_)
        files = []
        for f in report.open_data if report and report.published_at else []:
            url = f.get("url") or f"/rounds/{round_.slug}/data/{f['name']}"
            files.append(
                {
                    "name": f["name"],
                    "title": f["title"],
                    "format": f["format"],
                    "url": request.build_absolute_uri(url),
                    "sha256": f.get("sha256"),
                }
            )
        return Response(
            {
                "round": round_.slug,
                "licence": services.DATA_LICENCE,
                "licence_url": services.DATA_LICENCE_URL,
                "published": bool(report and report.published_at),
                "files": files,
            }
        )


class ReportView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses={200: dict}, summary="The outcome report's figures (your wards)")
    def get(self, request: Request, slug: str) -> Response:
        round_ = get_visible_round(user=request.user, slug=slug)
        if not rules.can_read_report(request.user, round_):
            raise NotAllowed(_("Only the round's managers and councillors read its report."))
        _counted(round_)
        report = selectors.report_latest_built(round=round_)
        if report is None:
            raise NotFound(_("The report is being prepared."), code="not_built")
        area_ids = selectors.visible_area_ids(user=request.user, round=round_)
        data = presenter.report_view_data(report=report, area_ids=area_ids)
        return Response(
            {
                "round": round_.slug,
                "summary": data["summary"],
                "integrity": data["integrity"],
                "inclusion": {**data["inclusion"], "areas": data["area_turnout"]},
                "deliberation": data["deliberation"],
                "influence": data["influence"],
                "results": data["results"],
                "commentary": report.commentary,
            }
        )

"""Pages for outcome feedback: HTTP only; selectors read, services write."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from backend.errors import DomainError
from backend.exports import csv_writer
from backend.forms import add_domain_error
from feedback import presenter, rules, selectors, services
from feedback.forms import CommentaryForm, MilestoneForm, SurveyCodeForm, SurveyForm
from feedback.models import OutcomeReport
from pb.counting import selectors as counting_selectors
from pb.proposals.models import Proposal
from pb.rounds.models import Round
from pb.rounds.selectors import get_visible_round
from pb.rules import can_see_round
from pb.voting.throttles import SurveyCodeFailures

REPORT_FORMATS = {"html", "pdf", "csv"}
REPORT_CACHE_SECONDS = 60


def _not_counted(request: HttpRequest, round_: Round) -> HttpResponse:
    return render(request, "feedback/not_counted.html", {"round": round_})


def round_results(request: HttpRequest, slug: str) -> HttpResponse:
    """The residents' results page: winners, votes, money, the rule, why not, delivery."""
    round_ = get_visible_round(user=request.user, slug=slug, with_areas=True)
    tallies = counting_selectors.latest_tallies(round=round_)
    if not tallies:
        return _not_counted(request, round_)
    results = presenter.results_from_tallies(round=round_, tallies=tallies)
    funded_ids = [
        int(p["id"]) for a in results for p in a["projects"] if p["funded"] and p["id"].isdigit()
    ]
    delivery = selectors.delivery_by_proposal(proposal_ids=funded_ids)
    for area in results:
        for p in area["projects"]:
            p["delivery"] = delivery.get(int(p["id"])) if p["id"].isdigit() else None
    report = selectors.report_latest_built(round=round_)
    invitation = selectors.survey_invitation_for(user=request.user, round=round_)
    voted = selectors.took_part(user=request.user, round=round_) is not None
    context = {
        "round": round_,
        "results": results,
        "rule_sentence": presenter.rule_sentence(round_),
        "unspent": counting_selectors.round_unspent(round=round_, tallies=tallies),
        "recount_command": presenter.RECOUNT_COMMAND.format(rule=round_.rule),
        "ballot_links": services.ballot_file_links(round_, {"results": results}),
        "report": report,
        "can_read_report": rules.can_read_report(request.user, round_),
        "can_manage": rules.can_manage_outcome(request.user, round_),
        "survey_open": voted and not (invitation and invitation.answered),
        "voted": voted,
        # The councillors' report's plain-language summary, for every resident (the full
        # report stays with councillors and staff).
        "summary": (
            presenter.report_view_data(report=report, area_ids=None)["summary"]
            if report is not None and report.figures
            else []
        ),
        "delivered_elsewhere": selectors.delivered_elsewhere(exclude_round=round_),
    }
    return render(request, "feedback/results.html", context)


def _report_for_reader(request: HttpRequest, round_: Round) -> OutcomeReport | HttpResponse:
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not rules.can_read_report(request.user, round_):
        raise PermissionDenied
    if not selectors.round_is_counted(round=round_):
        return _not_counted(request, round_)
    report = selectors.report_latest_built(round=round_)
    if report is None:
        return render(request, "feedback/report_pending.html", {"round": round_})
    return report


def report(request: HttpRequest, slug: str, fmt: str = "html") -> HttpResponse:
    """The councillors' outcome report as HTML, PDF or CSV, scoped to the reader's wards."""
    if fmt not in REPORT_FORMATS:
        raise Http404
    round_ = get_visible_round(user=request.user, slug=slug, with_areas=True)
    found = _report_for_reader(request, round_)
    if isinstance(found, HttpResponse):
        return found
    language = request.GET.get("lang") or translation.get_language()
    if language not in dict(settings.LANGUAGES):
        return HttpResponseBadRequest(
            _("That language is not offered here. Choose one from the report's page."),
            content_type="text/plain; charset=utf-8",
        )
    area_ids = selectors.visible_area_ids(user=request.user, round=round_)
    # The report in any of the site's languages, whatever the reader's page is in (a council
    # in Wales must be able to hand councillors the Welsh one).
    with translation.override(language):
        if fmt == "csv":
            out = io.StringIO()
            csv_writer(out).writerows(presenter.report_csv_rows(report=found, area_ids=area_ids))
            response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = f'attachment; filename="{round_.slug}-report.csv"'
        else:
            html = report_html(request, found, area_ids, printable=fmt == "pdf")
            if fmt == "html":
                response = HttpResponse(html)
            else:
                pdf = report_pdf(html, base_url=request.build_absolute_uri("/"))
                response = HttpResponse(pdf, content_type="application/pdf")
                response["Content-Disposition"] = (
                    f'inline; filename="{round_.slug}-report-{language}.pdf"'
                )
        response["Content-Language"] = language
    return response


def report_html(
    request: HttpRequest | None,
    report: OutcomeReport,
    area_ids: set[int] | None,
    *,
    printable: bool = False,
) -> str:
    """Rendered once per report, reader scope and latest change, then served from the cache."""
    stamp = selectors.report_stamp(report=report)
    scope = "all" if area_ids is None else ",".join(map(str, sorted(area_ids)))
    language = translation.get_language()
    digest = hashlib.sha256(f"{stamp}|{scope}|{int(printable)}|{language}".encode()).hexdigest()
    key = f"feedback:report:{report.pk}:{digest}"
    html: str | None = cache.get(key)
    if html is None:
        data = presenter.report_view_data(report=report, area_ids=area_ids)
        data["printable"] = printable
        if printable:
            data["report_css"] = (
                Path(settings.BASE_DIR) / "static" / "css" / "report.css"
            ).read_text()
            if translation.get_language_bidi():
                data["report_css"] += _urdu_font_for_print()
        data["report_languages"] = settings.LANGUAGES
        html = render_to_string("feedback/report.html", data, request=request)
        cache.set(key, html, REPORT_CACHE_SECONDS)
    return html


def _urdu_font_for_print() -> str:
    """The project's Nastaliq font for WeasyPrint, read from disk (it fetches no URLs)."""
    fonts = (Path(settings.BASE_DIR) / "static" / "fonts").as_uri()
    return (
        "@font-face { font-family: 'Noto Nastaliq Urdu'; font-weight: 400; "
        f"src: url('{fonts}/noto-nastaliq-urdu-arabic-400-normal.woff'); }}\n"
        "@font-face { font-family: 'Noto Nastaliq Urdu'; font-weight: 700; "
        f"src: url('{fonts}/noto-nastaliq-urdu-arabic-700-normal.woff'); }}\n"
        "body { font-family: 'Noto Nastaliq Urdu', 'DejaVu Sans', sans-serif; line-height: 2; }\n"
    )


def report_pdf(html: str, *, base_url: str) -> bytes:
    from weasyprint import HTML

    pdf: bytes = HTML(string=html, base_url=base_url).write_pdf()
    return pdf


@login_required
def outcome_manage(request: HttpRequest, slug: str) -> HttpResponse:
    """The manager's view of the pipeline: each step's progress, re-run, commentary."""
    round_ = get_visible_round(
        user=request.user, slug=slug, with_areas=True, may=rules.can_manage_outcome
    )
    report_ = selectors.report_current(round=round_)
    form = CommentaryForm(
        request.POST if "commentary" in request.POST else None,
        initial={"commentary": report_.commentary if report_ else ""},
    )
    if request.method == "POST":
        try:
            if "rerun" in request.POST and report_ is not None:
                services.step_rerun(actor=request.user, report=report_, name=request.POST["rerun"])
                messages.success(request, _("The step will run again shortly."))
                return redirect("outcome_manage", slug=slug)
            if "start" in request.POST:
                from feedback.tasks import outcome_pipeline

                outcome_pipeline.delay(round_.pk)
                messages.success(request, _("The outcome steps have started."))
                return redirect("outcome_manage", slug=slug)
            if form.is_bound and form.is_valid() and report_ is not None:
                services.report_set_commentary(
                    actor=request.user, report=report_, text=form.cleaned_data["commentary"]
                )
                messages.success(request, _("The commentary is saved."))
                return redirect("outcome_manage", slug=slug)
        except DomainError as exc:
            messages.error(request, exc.message)
            add_domain_error(form, exc)
    context = {
        "round": round_,
        "report": report_,
        "steps": report_.steps.order_by("id") if report_ else [],
        "counted": selectors.round_is_counted(round=round_),
        "form": form,
    }
    return render(request, "feedback/manage.html", context, status=400 if form.errors else 200)


@login_required
def survey(request: HttpRequest, slug: str) -> HttpResponse:
    round_ = get_visible_round(user=request.user, slug=slug, with_areas=True)
    if selectors.took_part(user=request.user, round=round_) is None:
        return render(request, "feedback/survey_closed.html", {"round": round_}, status=403)
    invitation = selectors.survey_invitation_for(user=request.user, round=round_)
    if invitation is not None and invitation.answered and request.method != "POST":
        return render(request, "feedback/survey_thanks.html", {"round": round_, "again": True})
    form = SurveyForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.survey_answer(
                    actor=request.user,
                    round=round_,
                    influence=form.cleaned_data["influence"] or "",
                    satisfaction=form.cleaned_data["satisfaction"],
                    comment=form.cleaned_data["comment"],
                )
            except DomainError as exc:
                if exc.code == "conflict":
                    return render(
                        request,
                        "feedback/survey_thanks.html",
                        {"round": round_, "again": True},
                        status=409,
                    )
                add_domain_error(form, exc)
            else:
                return render(request, "feedback/survey_thanks.html", {"round": round_})
        status = 400
    return render(request, "feedback/survey.html", {"round": round_, "form": form}, status=status)


def survey_by_code(request: HttpRequest, slug: str) -> HttpResponse:
    """The survey for voters without an account (a voter code, a kiosk, paper): the survey code
    on their receipt or slip answers it once. Nobody needs to log in. A client that sends too
    many refused codes (unknown or used, answered alike) waits (429), as with voter codes."""
    round_ = get_visible_round(user=request.user, slug=slug, with_areas=True)
    form = SurveyCodeForm(request.POST or None, initial={"code": request.GET.get("code", "")})
    context: dict[str, Any] = {"round": round_, "form": form, "by_code": True}
    if not round_.results_out:
        return render(request, "feedback/survey.html", {**context, "not_yet": True})
    status = 200
    if request.method == "POST":
        throttle = SurveyCodeFailures(request)
        if throttle.blocked:
            minutes = max(1, -(-int(throttle.retry_after()) // 60))
            response = render(
                request,
                "feedback/survey.html",
                {
                    **context,
                    "blocked": ngettext(
                        "Too many survey codes were refused here. Wait %(minutes)s minute, then "
                        "try again with the code printed on your receipt or slip.",
                        "Too many survey codes were refused here. Wait %(minutes)s minutes, then "
                        "try again with the code printed on your receipt or slip.",
                        minutes,
                    )
                    % {"minutes": minutes},
                },
                status=429,
            )
            response["Retry-After"] = throttle.retry_after()
            return response
        if form.is_valid():
            try:
                services.survey_answer_with_code(
                    round=round_,
                    code=form.cleaned_data["code"],
                    influence=form.cleaned_data["influence"] or "",
                    satisfaction=form.cleaned_data["satisfaction"],
                    comment=form.cleaned_data["comment"],
                )
            except DomainError as exc:
                if exc.code == services.SURVEY_CODE_REFUSED:
                    throttle.refused()
                add_domain_error(form, exc)
            else:
                return render(request, "feedback/survey_thanks.html", {"round": round_})
        status = 400
    return render(request, "feedback/survey.html", context, status=status)


def project_delivery(request: HttpRequest, pk: int) -> HttpResponse:
    """A funded project's delivery: milestones for all; managers add them here."""
    proposal = get_object_or_404(Proposal.objects.select_related("round", "area"), pk=pk)
    if not can_see_round(
        request.user, proposal.round
    ) or proposal.pk not in selectors.funded_proposal_ids(round=proposal.round):
        raise Http404
    can_record = rules.can_record_delivery(request.user, proposal)
    form = MilestoneForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        if not can_record:
            raise PermissionDenied
        if form.is_valid():
            try:
                services.milestone_record(
                    actor=request.user, proposal=proposal, **form.service_kwargs()
                )
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                messages.success(request, _("The milestone is recorded and followers are told."))
                return redirect("project_delivery", pk=pk)
        status = 400
    context = {
        "proposal": proposal,
        "round": proposal.round,
        "milestones": selectors.milestones_for(proposal=proposal),
        "can_record": can_record,
        "form": form,
        "following": selectors.is_following(user=request.user, proposal=proposal),
    }
    return render(request, "feedback/delivery.html", context, status=status)


@login_required
@require_POST
def project_follow(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = get_object_or_404(Proposal, pk=pk)
    if proposal.pk not in selectors.funded_proposal_ids(round=proposal.round):
        raise Http404
    follow = request.POST.get("follow", "1") == "1"
    services.project_follow(actor=request.user, proposal=proposal, follow=follow)
    messages.success(
        request,
        _("You will hear when this project moves on.") if follow else _("You no longer follow it."),
    )
    return redirect("project_delivery", pk=pk)


def open_data(request: HttpRequest, slug: str) -> HttpResponse:
    round_ = get_visible_round(user=request.user, slug=slug, with_areas=True)
    if not selectors.round_is_counted(round=round_):
        return _not_counted(request, round_)
    report_ = selectors.report_current(round=round_)
    files = []
    for f in report_.open_data if report_ and report_.published_at else []:
        url = f.get("url") or f"/rounds/{round_.slug}/data/{f['name']}"
        files.append({**f, "url": url})
    context = {
        "round": round_,
        "report": report_,
        "files": files,
        "licence": services.DATA_LICENCE,
        "licence_url": services.DATA_LICENCE_URL,
        "recount_command": presenter.RECOUNT_COMMAND.format(rule=round_.rule),
    }
    return render(request, "feedback/open_data.html", context)


CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json"}


def open_data_file(request: HttpRequest, slug: str, name: str) -> FileResponse:
    round_ = get_visible_round(user=request.user, slug=slug, with_areas=True)
    report_ = selectors.report_current(round=round_)
    listed = {f["name"]: f for f in (report_.open_data if report_ else []) if "path" in f}
    entry = listed.get(name)
    if entry is None or not default_storage.exists(entry["path"]):
        raise Http404
    response = FileResponse(
        default_storage.open(entry["path"], "rb"),
        content_type=CONTENT_TYPES.get(entry["format"], "application/octet-stream"),
    )
    response["Content-Disposition"] = f'inline; filename="{round_.slug}-{name}"'
    response["X-Licence"] = services.DATA_LICENCE
    return response

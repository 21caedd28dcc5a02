"""Pages for counting: count by hand, the round's results, and the published ballot files."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from backend.errors import DomainError
from pb import rules
from pb.counting import selectors, services
from pb.phases import is_closed
from pb.rounds.models import RoundStyle
from pb.rounds.selectors import get_visible_round
from pb.voting.services.codes import normalise_code

FORMATS = {
    "pb": "text/plain; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
}


@login_required
@require_POST
def round_count(request: HttpRequest, slug: str) -> HttpResponse:
    # Counting by hand is a staff action that was never shown to anyone else: 404, not 403.
    round_ = get_visible_round(user=request.user, slug=slug)
    if not rules.can_manage_round(request.user, round_):
        raise Http404
    try:
        tallies = services.round_count(round=round_, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            ngettext(
                "Counted: %(n)d result stored.", "Counted: %(n)d results stored.", len(tallies)
            )
            % {"n": len(tallies)},
        )
    return redirect("round_tally", slug=slug)


RECEIPT_ANSWERS = {
    selectors.ReceiptStatus.COUNTED: (
        "success",
        gettext_lazy(
            "This receipt's ballot is in the sealed ballots that the count reads"
            " and, once voting has closed, in the published ballot files. The receipt does not"
            " say how it was voted, and nobody can find that out from it."
        ),
    ),
    selectors.ReceiptStatus.WAITING: (
        "info",
        gettext_lazy(
            "This receipt's ballot has been received and is waiting to be sealed with at least 19"
            " others, which happens within minutes and always before the count. Check again later."
        ),
    ),
    selectors.ReceiptStatus.UNKNOWN: (
        "warning",
        gettext_lazy(
            "We have no ballot with this receipt in this round. Check that you typed it as printed"
            " and that it is for this round; if it still is not found, tell the council."
        ),
    ),
}


def round_tally(request: HttpRequest, slug: str) -> HttpResponse:
    """The count, area by area: every project, funded or why not, and how to recount it.

    A POST checks a receipt code (the "check my receipt" box): counted or not, never the
    choices. POST rather than GET keeps the code out of addresses, logs and browser history.
    """
    round_ = get_visible_round(user=request.user, slug=slug)
    receipt_answer = None
    receipt_error = ""
    if request.method == "POST":
        code = request.POST.get("receipt", "")
        if not normalise_code(code):
            receipt_error = _("Type the receipt code you were given when you voted.")
        else:
            receipt_answer = RECEIPT_ANSWERS[selectors.receipt_status(round=round_, code=code)]
    tallies = selectors.latest_tallies(round=round_)
    counted = {t.area_id for t in tallies}
    closed = is_closed(round_.phase)
    failure = selectors.count_failure(round=round_)
    context = {
        "receipt_answer": receipt_answer,
        "receipt_error": receipt_error,
        "failure": failure,
        "round": round_,
        "tallies": [(t, selectors.tally_result(t)) for t in tallies],
        "unspent": selectors.round_unspent(round=round_, tallies=tallies),
        "currency": round_.currency,
        "closed": closed,
        "can_count": closed and rules.can_change_round(request.user, round_),
        "uncounted": [
            a for a in services.count_scopes(round=round_) if (a.pk if a else None) not in counted
        ],
    }
    return render(request, "pb/round_tally.html", context)


def ballots_file(request: HttpRequest, slug: str, fmt: str) -> HttpResponse:
    """The anonymised ballots, one file per counted scope (``?area=<slug>`` in a city round)."""
    round_ = get_visible_round(user=request.user, slug=slug)
    if fmt not in FORMATS:
        raise Http404
    area = None
    area_slug = request.GET.get("area", "")
    if round_.style == RoundStyle.CITY:
        area = round_.areas.filter(slug=area_slug).first()
        if area is None:
            names = ", ".join(round_.areas.order_by("name").values_list("slug", flat=True))
            return HttpResponse(
                f"Each area of this round is counted on its own: add ?area= with one of {names}.",
                status=400,
                content_type="text/plain; charset=utf-8",
            )
    try:
        body = (services.ballots_pb if fmt == "pb" else services.ballots_csv)(
            round=round_, area=area
        )
    except DomainError as exc:
        return HttpResponse(
            exc.message, status=exc.status, content_type="text/plain; charset=utf-8"
        )
    name = f"{round_.slug}{'-' + area.slug if area else ''}-ballots.{fmt}"
    response = HttpResponse(body, content_type=FORMATS[fmt])
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def receipts_file(request: HttpRequest, slug: str) -> HttpResponse:
    """The public list of counted receipts (SHA-256 of each code), apart from the ballots."""
    round_ = get_visible_round(user=request.user, slug=slug)
    try:
        body = services.receipts_csv(round=round_)
    except DomainError as exc:
        return HttpResponse(
            exc.message, status=exc.status, content_type="text/plain; charset=utf-8"
        )
    response = HttpResponse(body, content_type=FORMATS["csv"])
    response["Content-Disposition"] = f'attachment; filename="{round_.slug}-receipts.csv"'
    return response

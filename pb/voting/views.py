"""Voting pages: HTTP only, the work is in ``pb.voting.services`` and ``selectors``.

Every step works without JavaScript: the choose page posts to the review page, the review page
carries the choices in hidden fields to the cast, and "Change my choices" posts them back to
the choose page. A kiosk runs the same steps in large type, then shows the receipt and resets.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from backend.accounts import rules as base_rules
from backend.accounts.models import Actor
from backend.errors import Conflict, DomainError, NotAllowed
from backend.forms import add_domain_error
from pb import rules as pb_rules
from pb.money import format_money
from pb.phases import Action, allows
from pb.proposals import selectors as proposal_selectors
from pb.rounds.models import BallotType, Round, RoundStyle
from pb.rounds.selectors import get_visible_round
from pb.voting import rules, selectors
from pb.voting.forms import (
    AreaChoiceForm,
    BallotForm,
    DeskSearchForm,
    DeskTickForm,
    KioskUnlockForm,
    PaperHeaderForm,
    PaperPrintForm,
    ReconcileForm,
    RegisterLettersForm,
    SurveySlipsForm,
    VoterCodesForm,
)
from pb.voting.models import KioskSession, PaperStatus
from pb.voting.services import casting as casting_services
from pb.voting.services import checking as checking_services
from pb.voting.services import codes as code_services
from pb.voting.services import decision_day as decision_day_services
from pb.voting.services import desk as desk_services
from pb.voting.services import kiosk as kiosk_services
from pb.voting.services import paper as paper_services
from pb.voting.throttles import VoterCodeFailures

KIOSK_SESSION_KEY = "voting_kiosk"
RECEIPT_COOKIE = "voting_receipt"


def receipt_cookie(round_: Round) -> str:
    """One cookie name per round: log-out must delete each, and a response holds one cookie per
    name, so a shared name could be deleted on one round's path only."""
    return f"{RECEIPT_COOKIE}_{round_.pk}"


RECEIPT_COOKIE_SECONDS = 15 * 60
KIOSK_IDLE_SECONDS = 120
KIOSK_RECEIPT_SECONDS = 30


def _wait_minutes(seconds: str) -> int:
    """Whole minutes to wait for a Retry-After of ``seconds``, rounded up, at least one."""
    return max(1, -(-int(seconds) // 60))


def _message(
    request: HttpRequest,
    title: str,
    text: str,
    *,
    status: int,
    round_: Round | None = None,
    base: str = "base.html",
    next_url: str = "",
    next_label: str = "",
) -> HttpResponse:
    return render(
        request,
        "voting/message.html",
        {
            "title": title,
            "text": text,
            "round": round_,
            "base_template": base,
            "next_url": next_url,
            "next_label": next_label,
        },
        status=status,
    )


def _next_step(exc: DomainError) -> tuple[str, str]:
    """Where a resident whose account cannot vote goes next, and the link's words."""
    if exc.code == "wrong_area":
        return reverse("home"), _("See the rounds open to your area")
    return reverse("profile"), _("See your details and how they are checked")


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# --- The ballot flow, online and at a kiosk -------------------------------------------------


@dataclass
class Flow:
    round: Round
    area_id: int
    with_code: bool
    kiosk: KioskSession | None = None

    @property
    def base(self) -> str:
        return "voting/kiosk_base.html" if self.kiosk else "base.html"

    def url(self, step: str) -> str:
        if self.kiosk:
            return reverse(f"kiosk_{step}")
        name = "vote" if step == "choose" else f"vote_{step}"
        return reverse(name, args=[self.round.slug])

    @property
    def choose_url(self) -> str:
        return self.url("choose")

    @property
    def review_url(self) -> str:
        return self.url("review")

    @property
    def cast_url(self) -> str:
        return self.url("cast")


def _online_flow(request: HttpRequest, round_: Round) -> Flow | HttpResponse:
    """Who is voting and for which area, or the page that says why they cannot yet."""
    params = request.POST if request.method == "POST" else request.GET
    area_id = _int(params.get("area"))
    wants_code = params.get("with_code") == "1" or not request.user.is_authenticated
    if not wants_code:
        try:
            area_id, _band = casting_services.account_eligibility(
                round_, request.user, area_id, timezone.localdate()
            )
        except DomainError as exc:
            next_url, next_label = _next_step(exc)
            if not round_.voter_codes_enabled:
                return _message(
                    request,
                    _("You cannot vote in this round with your account"),
                    exc.message,
                    status=403,
                    round_=round_,
                    next_url=next_url,
                    next_label=next_label,
                )
            if request.method == "GET":
                # A warning, not a success: the account cannot vote; a code from a letter can.
                messages.warning(
                    request,
                    format_html(
                        '{} {} <a href="{}">{}</a>',
                        exc.message,
                        _("You can still vote below with a voter code from a letter."),
                        next_url,
                        next_label,
                    ),
                )
        else:
            if request.method == "GET" and selectors.has_voted(round=round_, user=request.user):
                # Said before the ballot is filled in, not after review and cast.
                return _message(
                    request,
                    _("You have already voted in this round"),
                    _(
                        "Your vote is counted; a ballot is final once cast, so you cannot vote "
                        "again. The round's page shows what happens next."
                    ),
                    status=200,
                    round_=round_,
                )
            return Flow(round_, area_id, with_code=False)
    if not round_.voter_codes_enabled:
        return redirect(f"{reverse('login')}?next={request.path}")
    areas = list(selectors.voting_areas(round=round_))
    if area_id is None and len(areas) == 1:
        area_id = areas[0].pk
    if area_id is None or area_id not in {a.pk for a in areas}:
        form = AreaChoiceForm(round=round_)
        return render(
            request, "voting/area_choice.html", {"round": round_, "form": form, "areas": areas}
        )
    return Flow(round_, area_id, with_code=True)


def _ballot_form(flow: Flow, data: Any = None, initial: Any = None) -> BallotForm:
    spec = selectors.ballot_spec(round=flow.round, area_id=flow.area_id)
    return BallotForm(
        data,
        initial=initial,
        spec=spec,
        proposals=selectors.proposals_for_ballot(spec),
        with_code=flow.with_code,
    )


def _choose(request: HttpRequest, flow: Flow, form: BallotForm | None = None) -> HttpResponse:
    if form is None:
        initial: dict[str, Any] | None = None
        if request.method == "POST":  # "Change my choices" from the review page
            initial = {k: request.POST.get(k, "") for k in request.POST}
            initial["choice"] = request.POST.getlist("choice")
        form = _ballot_form(flow, initial=initial)
    status = 400 if form.is_bound and form.errors else 200
    return render(
        request,
        "voting/ballot.html",
        {
            "flow": flow,
            "round": flow.round,
            "form": form,
            "spec": form.spec,
            "sentence": selectors.rule_sentence(form.spec),
            "base_template": flow.base,
            "area": selectors.round_area(round=flow.round, area_id=flow.area_id),
            "idle_seconds": KIOSK_IDLE_SECONDS,
            "translations": _translations(form.proposals),
        },
        status=status,
    )


def _translations(proposals: Any) -> dict[int, Any]:
    """Managers' translations of the ballot's projects into the voter's language."""
    return proposal_selectors.translations_for(
        proposal_ids=[p.pk for p in proposals], language=translation.get_language()
    )


def _review(request: HttpRequest, flow: Flow) -> HttpResponse:
    form = _ballot_form(flow, data=request.POST)
    if not form.is_valid():
        return _choose(request, flow, form)
    try:
        canonical = checking_services.ballot_check(
            round=flow.round,
            selections=form.selections(),
            area_id=flow.area_id,
            own_bid=form.own_bid_value(),
        )
    except NotAllowed as exc:
        return _message(request, _("Voting is not open"), exc.message, status=403, base=flow.base)
    except DomainError as exc:
        add_domain_error(form, exc)
        return _choose(request, flow, form)
    by_id = {str(p.pk): p for p in form.proposals}
    chosen = [(by_id[k], v) for k, v in canonical.items()]
    if form.spec.ballot_type == BallotType.RANKING:
        chosen.sort(key=lambda pv: pv[1])
    total = sum(p.cost for p, _v in chosen)
    return render(
        request,
        "voting/review.html",
        {
            "flow": flow,
            "round": flow.round,
            "spec": form.spec,
            "chosen": chosen,
            "translations": _translations([p for p, _value in chosen]),
            "summary": _summary(form.spec, len(chosen), total, sum(canonical.values())),
            "hidden": form.hidden_items(),
            "base_template": flow.base,
            "idle_seconds": KIOSK_IDLE_SECONDS,
        },
    )


def _summary(spec: Any, n: int, total: int, points: int) -> str:
    """One sentence: "You chose these 4 projects, total £48,000 of £50,000." and the like."""
    kind = spec.ballot_type
    if kind == BallotType.SCORE:
        return ngettext("You scored %(n)d bid.", "You scored these %(n)d bids.", n) % {"n": n}
    if kind == BallotType.CUMULATIVE:
        return ngettext(
            "You gave %(points)d points to %(n)d project.",
            "You gave %(points)d points to these %(n)d projects.",
            n,
        ) % {"points": points, "n": n}
    if kind == BallotType.RANKING:
        return ngettext(
            "You ranked %(n)d project.", "You ranked these %(n)d projects, in this order.", n
        ) % {"n": n}
    sentence = ngettext("You chose this project", "You chose these %(n)d projects", n) % {"n": n}
    if kind == BallotType.APPROVAL_BUDGET:
        return _("%(sentence)s, total %(total)s of %(limit)s.") % {
            "sentence": sentence,
            "total": format_money(total, spec.currency),
            "limit": format_money(spec.limit, spec.currency),
        }
    return sentence + "."


def _cast(request: HttpRequest, flow: Flow) -> HttpResponse | casting_services.Receipt:
    form = _ballot_form(flow, data=request.POST)
    if not form.is_valid():
        return _choose(request, flow, form)
    throttle = None
    if flow.with_code:
        throttle = VoterCodeFailures(request, kiosk_id=flow.kiosk.pk if flow.kiosk else None)
        if throttle.blocked:
            response = _message(
                request,
                _("Too many wrong voter codes"),
                ngettext(
                    "Too many voter codes were refused here. Wait %(minutes)s minute, then "
                    "try again with the code printed on your letter. If it still does not "
                    "work, ask the council or a member of staff.",
                    "Too many voter codes were refused here. Wait %(minutes)s minutes, then "
                    "try again with the code printed on your letter. If it still does not "
                    "work, ask the council or a member of staff.",
                    _wait_minutes(throttle.retry_after()),
                )
                % {"minutes": _wait_minutes(throttle.retry_after())},
                status=429,
                round_=flow.round,
                base=flow.base,
            )
            response["Retry-After"] = throttle.retry_after()
            return response
    try:
        if flow.kiosk is not None:
            return kiosk_services.kiosk_cast(
                kiosk=flow.kiosk,
                voter_code=form.voter_code_value(),
                selections=form.selections(),
                own_bid=form.own_bid_value(),
            )
        return casting_services.ballot_cast(
            round=flow.round,
            selections=form.selections(),
            area_id=flow.area_id,
            voter=request.user,
            voter_code=form.voter_code_value(),
            own_bid=form.own_bid_value(),
        )
    except Conflict as exc:
        if exc.code != casting_services.CODE_NOT_ACCEPTED:
            return _message(
                request,
                _("Already voted"),
                exc.message,
                status=409,
                round_=flow.round,
                base=flow.base,
            )
        if throttle is not None:
            throttle.refused()
        add_domain_error(form, exc)
        return _choose(request, flow, form)
    except NotAllowed as exc:
        return _message(request, _("Voting is not open"), exc.message, status=403, base=flow.base)
    except DomainError as exc:
        add_domain_error(form, exc)
        return _choose(request, flow, form)


def _online(request: HttpRequest, slug: str) -> Flow | HttpResponse:
    round_ = get_visible_round(user=request.user, slug=slug, with_areas=True)
    if not allows(round_.phase, Action.VOTE):
        return _message(
            request,
            _("Voting is not open"),
            _("This round is now in the “%(phase)s” phase.")
            % {"phase": round_.get_phase_display()},
            status=403,
            round_=round_,
        )
    return _online_flow(request, round_)


@never_cache
def vote(request: HttpRequest, slug: str) -> HttpResponse:
    flow = _online(request, slug)
    return flow if isinstance(flow, HttpResponse) else _choose(request, flow)


@never_cache
@require_POST
def vote_review(request: HttpRequest, slug: str) -> HttpResponse:
    flow = _online(request, slug)
    return flow if isinstance(flow, HttpResponse) else _review(request, flow)


@never_cache
@require_POST
def vote_cast(request: HttpRequest, slug: str) -> HttpResponse:
    flow = _online(request, slug)
    if isinstance(flow, HttpResponse):
        return flow
    result = _cast(request, flow)
    if isinstance(result, HttpResponse):
        return result
    # The receipt code goes to the voter's browser only, never to the session table: there
    # it would sit beside the account id, and its hash is in the public list of receipts.
    response = redirect("vote_receipt", slug=flow.round.slug)
    response.set_signed_cookie(
        receipt_cookie(flow.round),
        # The survey code (voters without an account) rides with the receipt, never stored.
        f"{result.code}|{result.survey_code}",
        salt=RECEIPT_COOKIE + flow.round.slug,
        max_age=RECEIPT_COOKIE_SECONDS,
        path=reverse("vote_receipt", args=[flow.round.slug]),
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )
    return response


def receipt_cookies_clear(response: HttpResponse, user: Actor) -> None:
    """Expire the receipt cookie wherever it may be set: log-out calls this so the next person
    at a shared computer does not see the receipt. The cookie is scoped to one round's receipt
    page, so it is deleted on the pages of every round open for a vote or being counted (the
    cookie lives 15 minutes) and of every round this account voted in."""
    for round_ in selectors.rounds_with_receipt_cookie(user=user):
        response.delete_cookie(
            receipt_cookie(round_),
            path=reverse("vote_receipt", args=[round_.slug]),
            samesite="Lax",
        )


class LogOutView(auth_views.LogoutView):
    """Log out (``/accounts/log-out/``), and expire the receipt cookies so the next person at a
    shared computer cannot read the last voter's receipt. Voting owns this view because
    accounts may not depend on voting."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        response = super().post(request, *args, **kwargs)
        receipt_cookies_clear(response, user)
        return response


@never_cache
def vote_receipt(request: HttpRequest, slug: str) -> HttpResponse:
    round_ = get_visible_round(user=request.user, slug=slug, with_areas=True)
    code = request.get_signed_cookie(
        receipt_cookie(round_),
        default=None,
        salt=RECEIPT_COOKIE + round_.slug,
        max_age=RECEIPT_COOKIE_SECONDS,
    )
    if not code:
        return redirect("round_detail", slug=slug)
    receipt, _sep, survey_code = code.partition("|")
    return render(
        request,
        "voting/receipt.html",
        {
            "round": round_,
            "receipt": receipt,
            "survey_code": survey_code,
            "survey_url": request.build_absolute_uri(
                reverse("outcome_survey_code", args=[round_.slug])
            ),
            "base_template": "base.html",
        },
    )


# --- Kiosk ----------------------------------------------------------------------------------


def _kiosk(request: HttpRequest) -> KioskSession | None:
    kiosk_id = request.session.get(KIOSK_SESSION_KEY)
    if not kiosk_id:
        return None
    return selectors.kiosk_session(kiosk_id=kiosk_id)


def _kiosk_flow(request: HttpRequest) -> Flow | HttpResponse:
    kiosk = _kiosk(request)
    base = "voting/kiosk_base.html"
    if kiosk is None:
        return _message(
            request,
            _("This device is not a kiosk"),
            _("Ask a member of staff to unlock it for voting."),
            status=403,
            base=base,
        )
    if not kiosk.active:
        return _message(
            request, _("This kiosk is locked"), _("Ask a member of staff."), status=403, base=base
        )
    if not allows(kiosk.round.phase, Action.VOTE):
        return _message(
            request,
            _("Voting is not open"),
            _("Voting has not opened yet, or has closed."),
            status=403,
            base=base,
        )
    return Flow(kiosk.round, kiosk.area_id, with_code=True, kiosk=kiosk)


@never_cache
def kiosk_choose(request: HttpRequest) -> HttpResponseBase:
    flow = _kiosk_flow(request)
    if isinstance(flow, HttpResponse):
        return flow
    if request.method == "POST" and "change" not in request.POST:
        return redirect("kiosk_choose")
    if "next_voter" in request.GET and flow.kiosk is not None:
        # A new voter starts in the event's language, whatever the last voter chose.
        return _kiosk_language_reset(redirect("kiosk_choose"), flow.kiosk)
    return _choose(request, flow)


def _kiosk_language_reset(response: HttpResponseBase, kiosk: KioskSession) -> HttpResponseBase:
    """Set the device's language cookie back to the kiosk's own language."""
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        kiosk.language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,  # type: ignore[arg-type]
    )
    return response


@never_cache
@require_POST
def kiosk_review(request: HttpRequest) -> HttpResponse:
    flow = _kiosk_flow(request)
    return flow if isinstance(flow, HttpResponse) else _review(request, flow)


@never_cache
@require_POST
def kiosk_cast(request: HttpRequest) -> HttpResponseBase:
    flow = _kiosk_flow(request)
    if isinstance(flow, HttpResponse):
        return flow
    result = _cast(request, flow)
    if isinstance(result, HttpResponse):
        return result
    # The receipt is in the voter's language; whatever comes next is for the next voter.
    assert flow.kiosk is not None
    return _kiosk_language_reset(
        render(
            request,
            "voting/kiosk_receipt.html",
            {
                "round": flow.round,
                "receipt": result.code,
                "survey_code": result.survey_code,
                "survey_url": request.build_absolute_uri(
                    reverse("outcome_survey_code", args=[flow.round.slug])
                ),
                "base_template": flow.base,
                "reset_seconds": KIOSK_RECEIPT_SECONDS,
            },
        ),
        flow.kiosk,
    )


@login_required
def kiosk_desk(request: HttpRequest, slug: str) -> HttpResponse:
    """Staff unlock this device as a kiosk (which logs them out of it) or lock others."""
    round_ = get_visible_round(
        user=request.user, slug=slug, with_areas=True, may=rules.can_open_event_desk
    )
    form = KioskUnlockForm(request.POST if "unlock" in request.POST else None, round=round_)
    if request.method == "POST" and "lock" in request.POST:
        try:
            kiosk_id = uuid.UUID(request.POST["lock"])
        except ValueError:  # a made-up value is no kiosk of this round, not a server error
            raise Http404 from None
        kiosk = selectors.kiosk_session(kiosk_id=kiosk_id, round=round_)
        if kiosk is None:
            raise Http404
        try:
            kiosk_services.kiosk_lock(actor=request.user, kiosk=kiosk)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("The kiosk is locked."))
        return redirect("kiosk_desk", slug=slug)
    if form.is_bound and form.is_valid():
        try:
            kiosk = kiosk_services.kiosk_unlock(
                actor=request.user,
                round=round_,
                area=form.cleaned_data["area"],
                label=form.cleaned_data["label"],
                language=form.cleaned_data["language"],
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            # The device now belongs to voters: staff are logged out of it.
            logout(request)
            request.session[KIOSK_SESSION_KEY] = str(kiosk.pk)
            return redirect(reverse("kiosk_choose") + "?next_voter=1")
    return render(
        request,
        "voting/kiosk_desk.html",
        {
            "round": round_,
            "form": form,
            "kiosks": selectors.kiosks_for_round(round=round_),
        },
        status=400 if form.errors else 200,
    )


# --- Ticking names on the register ---------------------------------------------------------


@never_cache
@login_required
def register_desk(request: HttpRequest, slug: str) -> HttpResponse:
    """Staff find a resident on the register (name and postcode or year of birth) and tick
    them before handing over a paper ballot or a kiosk code (``pb.voting.services.desk``)."""
    round_ = get_visible_round(
        user=request.user, slug=slug, with_areas=True, may=rules.can_open_event_desk
    )
    search = DeskSearchForm(request.GET if "name" in request.GET else None)
    error = ""
    status = 200
    if request.method == "POST":
        tick_form = DeskTickForm(request.POST)
        tick_form.is_valid()  # a bad field leaves it out; the service refuses what is missing
        try:
            tick = desk_services.desk_tick_by_token(
                actor=request.user,
                round=round_,
                token=tick_form.cleaned_data.get("token") or "",
                channel=tick_form.cleaned_data.get("channel", ""),
            )
        except DomainError as exc:
            error, status = exc.message, exc.status
        else:
            entry = tick.entry
            area = selectors.round_area(round=round_, area_id=tick.area_id)
            if tick.code:
                response = render(
                    request,
                    "voting/register_desk_code.html",
                    {"round": round_, "entry": entry, "area": area, "code": tick.code},
                )
                response["Cache-Control"] = "no-store"
                return response
            messages.success(
                request,
                _("%(name)s is ticked. Hand them a paper ballot for %(area)s.")
                % {"name": entry.name, "area": area.name},
            )
            return redirect("register_desk", slug=slug)
    found: list[selectors.DeskEntry] = []
    retry_after = ""
    if search.is_bound and search.is_valid():
        try:
            found = desk_services.desk_search(
                actor=request.user,
                round=round_,
                name=search.cleaned_data["name"],
                postcode=search.cleaned_data["postcode"],
                birth_year=search.cleaned_data["birth_year"],
            )
        except DomainError as exc:
            add_domain_error(search, exc)
            status = exc.status
            retry_after = getattr(exc, "retry_after", "")
    response = render(
        request,
        "voting/register_desk.html",
        {
            "round": round_,
            "search": search,
            "found": found,
            "error": error,
            "voting": allows(round_.phase, Action.VOTE),
        },
        status=status if error or status != 200 else (400 if search.errors else 200),
    )
    if retry_after:
        response["Retry-After"] = retry_after
    return response


# --- Voter codes ----------------------------------------------------------------------------


def qr_svg(text: str) -> str:
    """An inline SVG QR code (segno) for a printed card; decorative beside the printed code."""
    svg = segno.make(text, error="m").svg_inline(scale=3, border=2, omitsize=False)
    return mark_safe(svg)  # noqa: S308 - made here by segno from our own address and code


@login_required
def voter_codes(request: HttpRequest, slug: str) -> HttpResponse:
    """Make a batch of codes and show them once, as a sheet to print and cut."""
    round_ = get_visible_round(
        user=request.user, slug=slug, with_areas=True, may=rules.can_open_voter_codes
    )
    form = VoterCodesForm(request.POST or None, round=round_)
    if request.method == "POST" and form.is_valid():
        area = form.cleaned_data["area"]
        try:
            codes = code_services.voter_codes_issue(
                actor=request.user,
                round=round_,
                count=form.cleaned_data["count"],
                area=area,
                reason=form.cleaned_data["reason"],
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            vote_url = request.build_absolute_uri(reverse("vote", args=[slug]))
            # The card's QR code opens the ballot for its area with the code filled in by
            # static/js/ballot.js from the fragment: a fragment is never sent to the server,
            # so codes stay out of access logs and proxies (issue 13).
            query = f"?area={area.pk}#" if area else "#"
            response = render(
                request,
                "voting/code_sheet.html",
                {
                    "round": round_,
                    "area": area,
                    "cards": [(code, qr_svg(f"{vote_url}{query}code={code}")) for code in codes],
                    "vote_url": vote_url,
                    "card_language": form.cleaned_data["language"] or translation.get_language(),
                },
            )
            response["Cache-Control"] = "no-store"
            return response
    return render(
        request,
        "voting/voter_codes.html",
        {
            "round": round_,
            "form": form,
            # Said before the form, so a manager does not fill it in to be refused.
            "admin_only_now": rules.codes_need_admin(round_)
            and not base_rules.is_admin(request.user),
        },
        status=400 if form.errors else 200,
    )


@never_cache
@login_required
def register_letters(request: HttpRequest, slug: str) -> HttpResponse:
    """One voter code for each resident on an area's register who has none yet, as the
    mail-merge file for the letters (``pb.voting.services.codes.register_codes_issue``)."""
    round_ = get_visible_round(user=request.user, slug=slug, with_areas=True)
    if not rules.can_open_voter_codes(request.user, round_):
        raise PermissionDenied
    areas = [
        a
        for a in selectors.voting_areas(round=round_)
        if pb_rules.can_act_in_area(request.user, round_, a)
    ]
    form = RegisterLettersForm(request.POST or None, areas=areas)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            area = form.cleaned_data["area"]
            try:
                pairs = code_services.register_codes_issue(
                    actor=request.user, round=round_, area=area, reason=form.cleaned_data["reason"]
                )
            except DomainError as exc:
                add_domain_error(form, exc)
                status = exc.status
            else:
                response = HttpResponse(
                    code_services.letters_csv(round=round_, area=area, pairs=pairs),
                    content_type="text/csv; charset=utf-8",
                )
                name = f"{round_.slug}-{area.slug}-letters.csv"
                response["Content-Disposition"] = f'attachment; filename="{name}"'
                response["Cache-Control"] = "no-store"  # it holds the codes themselves
                return response
        else:
            status = 400
    waiting = selectors.letters_waiting(round=round_, areas=areas)
    return render(
        request,
        "voting/register_letters.html",
        {
            "round": round_,
            "form": form,
            "areas": [(a, waiting[a.pk]) for a in areas],
            "admin_only_now": rules.codes_need_admin(round_)
            and not base_rules.is_admin(request.user),
        },
        status=status,
    )


# --- Paper ----------------------------------------------------------------------------------


@login_required
def paper_print(request: HttpRequest, slug: str) -> HttpResponse:
    """Blank, numbered ballot papers for one area in the language chosen, to print."""
    round_ = get_visible_round(
        user=request.user, slug=slug, with_areas=True, may=rules.can_open_event_desk
    )
    areas = selectors.voting_areas(round=round_)
    form = PaperPrintForm(request.GET or None, areas=areas)
    papers = None
    if form.is_valid():
        area = form.cleaned_data["area"]
        if not rules.can_run_event(request.user, round_, area):
            form.add_error("area", _("You can print papers only for the areas you manage."))
        else:
            papers = selectors.papers_to_print(
                round=round_,
                area=area,
                language=form.cleaned_data["language"] or translation.get_language(),
                copies=form.cleaned_data["copies"],
            )
    return render(
        request,
        "voting/paper_print.html",
        {"round": round_, "form": form, "papers": papers},
        status=400 if form.errors else 200,
    )


@never_cache
@login_required
def paper_survey_slips(request: HttpRequest, slug: str) -> HttpResponse:
    """Survey slips to hand out with paper ballots, so paper voters can answer the influence
    survey once. A POST makes the codes (shown once, never stored), a GET shows the form."""
    round_ = get_visible_round(user=request.user, slug=slug, with_areas=True)
    if not rules.can_open_event_desk(request.user, round_):
        raise PermissionDenied
    areas = selectors.voting_areas(round=round_)
    form = SurveySlipsForm(
        request.POST if request.method == "POST" else None,
        areas=areas,
        initial={"area": areas[0]} if len(areas) == 1 else {},
    )
    if request.method == "POST" and form.is_valid():
        area = form.cleaned_data["area"]
        try:
            codes = code_services.survey_slips_issue(
                actor=request.user, round=round_, area=area, count=form.cleaned_data["count"]
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            return render(
                request,
                "voting/survey_slips.html",
                {
                    "round": round_,
                    "area": area,
                    "codes": codes,
                    "survey_url": request.build_absolute_uri(
                        reverse("outcome_survey_code", args=[round_.slug])
                    ),
                },
            )
    return render(
        request,
        "voting/survey_slips_form.html",
        {"round": round_, "form": form},
        status=400 if form.errors else 200,
    )


@login_required
def paper_desk(request: HttpRequest, slug: str) -> HttpResponse:
    """Key one paper ballot: its number, then the choices as written on it."""
    round_ = get_visible_round(
        user=request.user, slug=slug, with_areas=True, may=rules.can_open_event_desk
    )
    params = request.POST if request.method == "POST" else request.GET
    areas = list(selectors.voting_areas(round=round_))
    area_id = _int(params.get("area")) or (areas[0].pk if len(areas) == 1 else None)
    if area_id not in {a.pk for a in areas}:
        return render(
            request,
            "voting/paper_area.html",
            {"round": round_, "areas": areas, "counts": selectors.paper_counts(round=round_)},
        )
    area = next(a for a in areas if a.pk == area_id)
    flow = Flow(round_, area.pk, with_code=False)
    header = PaperHeaderForm(request.POST or None)
    ballot = _ballot_form(flow, data=request.POST or None)
    if request.method == "POST" and header.is_valid() and ballot.is_valid():
        try:
            paper = paper_services.paper_entry_add(
                actor=request.user,
                round=round_,
                serial=header.cleaned_data["serial"],
                area=area,
                selections=ballot.selections(),
                spoilt=header.cleaned_data["spoilt"],
            )
        except DomainError as exc:
            add_domain_error(header if "serial" in exc.fields else ballot, exc)
        else:
            text = {
                PaperStatus.WAITING: _(
                    "Ballot %(s)s is keyed once. A colleague must key it again."
                ),
                PaperStatus.COUNTED: _("Ballot %(s)s matched its first keying and is counted."),
                PaperStatus.SPOILT: _(
                    "Ballot %(s)s matched its first keying and is recorded as spoilt."
                ),
                PaperStatus.MISMATCH: _(
                    "Ballot %(s)s does not match its first keying: it goes to a manager to decide."
                ),
            }[PaperStatus(paper.status)] % {"s": paper.serial}
            (messages.warning if paper.status == PaperStatus.MISMATCH else messages.success)(
                request, text
            )
            return redirect(f"{reverse('paper_desk', args=[slug])}?area={area.pk}")
    return render(
        request,
        "voting/paper_desk.html",
        {
            "round": round_,
            "area": area,
            "header": header,
            "form": ballot,
            "spec": ballot.spec,
            "sentence": selectors.rule_sentence(ballot.spec),
            "counts": selectors.paper_counts(round=round_),
            "can_reconcile": rules.can_open_reconciliation(request.user, round_),
        },
        status=400 if (header.errors or ballot.errors) else 200,
    )


@login_required
def paper_reconcile(request: HttpRequest, slug: str) -> HttpResponse:
    """The manager's queue of paper ballots whose two keyings differ."""
    round_ = get_visible_round(
        user=request.user, slug=slug, with_areas=True, may=rules.can_open_reconciliation
    )
    bound_pk = _int(request.POST.get("paper")) if request.method == "POST" else None
    bound_form = ReconcileForm(request.POST) if bound_pk else None
    if bound_pk and bound_form is not None and bound_form.is_valid():
        paper = selectors.paper_of_round(round=round_, paper_id=bound_pk)
        if paper is None:
            raise Http404
        try:
            paper_services.paper_reconcile(
                actor=request.user,
                paper=paper,
                decision=bound_form.cleaned_data["decision"],
                reason=bound_form.cleaned_data["reason"],
            )
        except DomainError as exc:
            add_domain_error(bound_form, exc)
        else:
            messages.success(request, _("Ballot %(s)s is settled.") % {"s": paper.serial})
            return redirect("paper_reconcile", slug=slug)
    titles = selectors.proposal_titles(round=round_)
    queue = []
    for paper in selectors.reconciliation_queue(round=round_):
        keyed = list(paper.entries.all())
        areas = list({e.area_id: e.area for e in keyed}.values())
        if not all(pb_rules.can_act_in_area(request.user, round_, a) for a in areas):
            continue  # another area's paper: its own managers settle it
        # A paper this person keyed is shown without the form: someone else settles it.
        decidable = rules.can_reconcile(request.user, round_, areas, [e.keyed_by_id for e in keyed])
        entries = [
            (
                e,
                [
                    (titles.get(int(pid), pid), value)
                    for pid, value in sorted(e.selections.items(), key=lambda kv: kv[1])
                ],
            )
            for e in paper.entries.all()
        ]
        form = (
            bound_form
            if bound_pk == paper.pk and bound_form
            else ReconcileForm(auto_id=f"id_{paper.pk}_%s")
        )
        queue.append((paper, entries, form if decidable else None))
    return render(
        request,
        "voting/reconcile.html",
        {"round": round_, "queue": queue},
        status=400 if bound_form is not None and bound_form.errors else 200,
    )


# --- Decision day ---------------------------------------------------------------------------


@login_required
def event_desk(request: HttpRequest, slug: str) -> HttpResponse:
    """The staff page that runs a decision day: open, close, reveal, and links to the rest."""
    round_ = get_visible_round(
        user=request.user, slug=slug, with_areas=True, may=rules.can_open_event_desk
    )
    if not round_.is_decision_day:
        raise PermissionDenied
    if request.method == "POST":
        try:
            if "open" in request.POST:
                decision_day_services.decision_day_open(actor=request.user, round=round_)
                messages.success(request, _("The vote is open."))
            elif "close" in request.POST:
                decision_day_services.decision_day_close(actor=request.user, round=round_)
                messages.success(request, _("The vote is closed and the count has started."))
            elif "reveal" in request.POST:
                decision_day_services.decision_day_reveal_next(actor=request.user, round=round_)
        except DomainError as exc:
            messages.error(request, exc.message)
        return redirect("event_desk", slug=slug)
    day = selectors.decision_day(round=round_)
    return render(
        request,
        "voting/event_desk.html",
        {
            "round": round_,
            "day": day,
            "turnout": selectors.turnout(round=round_),
            "rows": selectors.reveal_rows(round=round_),
            "revealed": day.revealed if day else 0,
            "voting": allows(round_.phase, Action.VOTE),
            "can_open_close": rules.can_open_and_close(request.user, round_),
            "can_reconcile": rules.can_open_reconciliation(request.user, round_),
        },
    )


@never_cache
def event_screen(request: HttpRequest, slug: str) -> HttpResponse:
    """The venue screen: live turnout while the vote is open, then the reveal, bid by bid."""
    round_ = get_visible_round(user=request.user, slug=slug, with_areas=True)
    if round_.style != RoundStyle.DECISION_DAY:
        raise Http404
    day = selectors.decision_day(round=round_)
    revealed = day.revealed if day else 0
    rows = selectors.reveal_rows(round=round_) if day and day.closed_at else None
    shown = (rows or [])[:revealed]
    return render(
        request,
        "voting/event_screen.html",
        {
            "round": round_,
            "day": day,
            "turnout": selectors.turnout(round=round_),
            "voting": allows(round_.phase, Action.VOTE),
            "rows": shown,
            "money_left": shown[-1].money_left if shown else round_.budget,
            "refresh_seconds": 5,
        },
    )

"""The anonymous voter-code cast, served part-way down the middleware chain.

A voting rush is almost all ``POST /api/v1/rounds/{id}/ballots/`` with a voter code in a JSON
body and no cookie or credentials (``pb.voting.api.anonymous_code_cast`` says exactly which
requests). ``BallotCastFastPath`` sits right after ``LocaleMiddleware`` and answers those
itself, with ``pb.voting.api.cast_with_code``, the same function the view runs for them; every
other request goes on down the chain untouched. Measured against a bare Django view doing the
same two inserts (docs/voting-performance.md, "Against bare Django"), the rest of the chain, the
URL resolver and the view's wrappers were a fifth of a cast's CPU.

The answer is the one the whole chain gives, status, body and headers (tests/voting/
test_fast_path.py compares them):

- Still applied, because they come before this in the chain: the request id, the security
  headers and HTTPS redirect (``SecurityMiddleware``), WhiteNoise (not a static path),
  sessions and the language from ``Accept-Language`` or the language cookie (error messages are
  translated; ``Content-Language`` and ``Vary: Accept-Language``).
- Done here as the skipped middleware would: ``CommonMiddleware``'s checks (a ``Host`` not in
  ``ALLOWED_HOSTS`` is refused) and its ``Content-Length``; ``X-Frame-Options``; the
  ``Content-Security-Policy`` header, which for this view depends on the settings only (no
  nonce, no decorator), so it is built once and again only when the settings change (tests);
  and ``Vary: Cookie``: in the chain, ``AccountLanguageMiddleware`` looks at ``request.user``,
  which reads the (empty) session, and ``SessionMiddleware`` then says the answer varies by
  cookie.
- Skipped, because they do nothing to such a request: CSRF, authentication, the account's
  language, messages and django-axes. CSRF in particular: ``BallotCreateView`` is exempt from
  Django's CSRF check (DRF views are; DRF checks CSRF only for a session-authenticated user),
  and a request here carries no cookie and no ``Authorization`` header, so there is no ambient
  credential a cross-site page could make a browser send: the voter code in the body is the
  only credential, and a forger would have to know it. A request with a session cookie (even
  an invalid one) goes the whole way, as before.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import Any

from django.conf import settings
from django.core.handlers.exception import response_for_exception
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.common import CommonMiddleware
from django.urls import reverse

from pb.voting.api import anonymous_code_cast, cast_with_code

_PROBE = 987654321


@cache
def _ballots_path() -> re.Pattern[str]:
    """The ballot URL as the resolver matches it (``<int:pk>`` is ``[0-9]+``)."""
    before, after = reverse("api-round-ballots", kwargs={"pk": _PROBE}).split(str(_PROBE))
    return re.compile(re.escape(before) + "([0-9]+)" + re.escape(after))


@cache
def _csp_headers() -> tuple[tuple[str, str], ...]:
    """The CSP headers django-csp puts on this view's answers: they depend on the settings only
    (the fast path's answers have no nonce and the view no CSP decorator)."""
    from csp.middleware import CSPMiddleware

    probe = HttpRequest()
    probe.path_info = probe.path = reverse("api-round-ballots", kwargs={"pk": _PROBE})
    response = CSPMiddleware(lambda request: HttpResponse()).process_response(probe, HttpResponse())
    names = ("Content-Security-Policy", "Content-Security-Policy-Report-Only")
    return tuple((name, response[name]) for name in names if name in response)


@receiver(setting_changed)
def _settings_changed(*, setting: str, **kwargs: object) -> None:
    if setting.startswith("CONTENT_SECURITY_POLICY"):
        _csp_headers.cache_clear()
    if setting == "ROOT_URLCONF":
        _ballots_path.cache_clear()


def _unanswered(request: HttpRequest) -> HttpResponse:
    raise AssertionError("only process_request and process_response are used")  # pragma: no cover


class BallotCastFastPath:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response
        self.common = CommonMiddleware(_unanswered)
        self.xframe = XFrameOptionsMiddleware(_unanswered)

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if request.method != "POST":
            return self.get_response(request)
        match = _ballots_path().fullmatch(request.path_info)
        if (
            match is None
            # CommonMiddleware would answer these with a redirect or a 403: let it.
            or settings.PREPEND_WWW
            or settings.DISALLOWED_USER_AGENTS
        ):
            return self.get_response(request)
        self.common.process_request(request)  # refuses a Host not in ALLOWED_HOSTS
        data = anonymous_code_cast(request)
        if data is None:
            return self.get_response(request)
        response: Any  # HttpResponse, as each middleware below takes and gives it
        try:
            response = cast_with_code(request, int(match[1]), data)
        except Exception as exc:
            # As Django answers an exception from a view (the database down: a 503 with
            # Retry-After, backend.views.server_error); then the headers below, as in the chain.
            response = response_for_exception(request, exc)
        response = self.common.process_response(request, response)
        response = self.xframe.process_response(request, response)
        for name, value in _csp_headers():
            response.headers.setdefault(name, value)
        session = getattr(request, "session", None)
        if session is not None:
            session.accessed = True  # Vary: Cookie, as the whole chain answers
        return response

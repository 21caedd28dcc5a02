"""The anonymous voter-code cast, answered in front of Django's request handler.

A voting rush is almost all ``POST /api/v1/rounds/{id}/ballots/`` with a voter code in a JSON
body and no cookie or credentials (``pb.voting.api.anonymous_code_cast`` says exactly which
requests). ``BallotCastApp`` wraps the WSGI application (``backend/wsgi.py``, which gunicorn
serves) and answers those itself with ``pb.voting.api.cast_with_code``, the function the view
runs for them; every other request goes to Django's handler untouched. Measured against a bare
Django view doing the same two inserts (docs/voting-performance.md, "Against bare Django"), the
middleware chain, the URL resolver and the view's wrappers cost more CPU than the whole of the
bare view's cast; this is the only way left to come near its rate.

The answer is the one the whole chain gives, status, body and headers (tests/voting/
test_fast_path.py compares them, through this application and through Django's handler):

- The headers the chain adds to such an answer depend on the settings, the language and whether
  the request came over HTTPS, nothing else (the request id and ``Content-Length`` apart). So
  ``_chain_headers`` runs the real middleware once for each language and scheme, on a probe
  request and answer, and keeps what they added: the security headers (``SecurityMiddleware``,
  HSTS over HTTPS), ``Content-Language`` and ``Vary: Accept-Language`` (``LocaleMiddleware``),
  ``Vary: Cookie`` (the chain reads the empty session: ``AccountLanguageMiddleware`` looks at
  ``request.user``), ``X-Frame-Options`` and the ``Content-Security-Policy`` (no nonce: the
  view has no CSP decorator). Any change of settings forgets them (tests override settings).
- Left to the chain, by handing the request on: anything not an anonymous JSON code cast, a
  ``Host`` not in ``ALLOWED_HOSTS`` (400), plain HTTP when ``SECURE_SSL_REDIRECT`` is on (301),
  ``PREPEND_WWW`` and ``DISALLOWED_USER_AGENTS``.
- Done here as the handler would: the request id (``X-Request-ID`` and the log records'
  ``request_id``), the language from ``Accept-Language`` or the language cookie (refusals are
  translated), ``request_started`` and ``request_finished`` (which hand the database connection
  back to its pool), an exception answered as Django answers one (the database down: a 503
  with ``Retry-After``, ``backend.views.server_error``) and a 4xx or 5xx logged on
  ``django.request``.
- Skipped, because they do nothing to such a request: CSRF, authentication, the account's
  language, messages, django-axes, WhiteNoise (not a static path) and the URL resolver. CSRF in
  particular: ``BallotCreateView`` is exempt from Django's CSRF check (DRF views are; DRF checks
  CSRF only for a session-authenticated user), and a request answered here carries no session
  cookie and no ``Authorization`` header, so there is no ambient credential a cross-site page
  could make a browser send: the voter code in the body is the only credential, and a forger
  would have to know it. A request with a session cookie (even an invalid one) goes the whole
  way, as before.

The ASGI application (``backend/asgi.py``) serves HTTP only in development (``runserver``); there,
and under Django's test client, the view itself takes the same shortcut
(``BallotCreateView.dispatch``) after the whole chain.
"""

from __future__ import annotations

import io
import logging
import re
import uuid
from collections.abc import Callable, Iterable
from functools import cache
from typing import Any

from django.conf import settings
from django.core import signals
from django.core.exceptions import DisallowedHost
from django.core.handlers.exception import response_for_exception
from django.core.handlers.wsgi import WSGIHandler, WSGIRequest
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.common import CommonMiddleware
from django.urls import reverse
from django.utils import translation
from django.utils.log import log_response
from django.utils.module_loading import import_string

from backend import request_id
from pb.voting.api import anonymous_code_cast, cast_with_code

_PROBE = 987654321

#: The middleware that run before the view for such a request and add headers to its answer,
#: in the chain's order (backend/settings.py's MIDDLEWARE). WhiteNoise, between the first two
#: and the rest, answers static paths only and adds nothing to other answers.
_OUTER = (
    "backend.request_id.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
)
#: Headers of the cast's own answer, or new on every answer: never taken from the probe.
_OWN = {"content-type", "content-length", "allow", "retry-after", "x-request-id", "vary"}
_SENSIBLE_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
#: The largest body answered here (a ranking of 200 projects is about 3 KB); larger ones go to
#: Django's handler, which refuses what is over DATA_UPLOAD_MAX_MEMORY_SIZE with a 400.
_LARGEST_BODY = 16 * 1024

StartResponse = Callable[..., Any]
#: What the chain adds to an answer: headers, and names for ``Vary``.
ChainHeaders = tuple[tuple[tuple[str, str], ...], list[str]]
logger = logging.getLogger(__name__)


@cache
def _ballots_path() -> re.Pattern[str]:
    """The ballot URL as the resolver matches it (``<int:pk>`` is ``[0-9]+``)."""
    before, after = reverse("api-round-ballots", kwargs={"pk": _PROBE}).split(str(_PROBE))
    return re.compile(re.escape(before) + "([0-9]+)" + re.escape(after))


def _probe_view(request: HttpRequest) -> HttpResponseBase:
    """What the rest of the chain does to an anonymous cast's answer (see the module's text)."""
    response: Any = HttpResponse(content_type="application/json")
    response["Vary"] = "Accept"
    response = CommonMiddleware(_probe_view).process_response(request, response)
    response = XFrameOptionsMiddleware(_probe_view).process_response(request, response)
    from csp.middleware import CSPMiddleware

    response = CSPMiddleware(_probe_view).process_response(request, response)
    session = getattr(request, "session", None)
    if session is not None:
        session.accessed = True  # as AccountLanguageMiddleware's look at request.user does
    return response


@cache
def _chain_headers(language: str, secure: bool) -> ChainHeaders | None:
    """The headers the middleware chain puts on an anonymous cast's answer in ``language``,
    over HTTPS or not, apart from the answer's own; and the names it adds to ``Vary``. None if
    the chain would not have let such a request reach the view (then the chain answers it)."""
    reached: list[HttpRequest] = []

    def view(request: HttpRequest) -> HttpResponseBase:
        reached.append(request)
        return _probe_view(request)

    handler: Callable[[HttpRequest], HttpResponseBase] = view
    for path in reversed([p for p in _OUTER if p in settings.MIDDLEWARE]):
        handler = import_string(path)(handler)
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": reverse("api-round-ballots", kwargs={"pk": _PROBE}),
        "SERVER_NAME": "probe",
        "SERVER_PORT": "443" if secure else "80",
        "HTTP_ACCEPT_LANGUAGE": language,
        "wsgi.url_scheme": "https" if secure else "http",
        "wsgi.input": io.BytesIO(),
    }
    probe = WSGIRequest(environ)
    probe.get_host = lambda: "probe"  # type: ignore[method-assign]  # not ALLOWED_HOSTS' business
    probe.is_secure = lambda: secure  # type: ignore[method-assign]  # as the request was seen
    with translation.override(language):
        response = handler(probe)
    if not reached or response.get("Content-Language") != language:
        logger.warning("The cast's fast path is off: the chain answers such requests itself")
        return None
    added = tuple((k, v) for k, v in response.items() if k.lower() not in _OWN)
    vary = [v for v in response.get("Vary", "").split(", ") if v and v != "Accept"]
    return added, vary


@receiver(setting_changed)
def _settings_changed(*, setting: str, **kwargs: object) -> None:
    _chain_headers.cache_clear()
    if setting == "ROOT_URLCONF":
        _ballots_path.cache_clear()


class BallotCastApp:
    """WSGI application: Django's handler, with the anonymous code cast answered in front."""

    def __init__(self, app: WSGIHandler) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "POST":
            return self.app(environ, start_response)
        match = _ballots_path().fullmatch(environ.get("PATH_INFO", ""))
        if match is None or not self._may_serve(environ):
            return self.app(environ, start_response)
        request = WSGIRequest(environ)
        try:
            request.get_host()
        except DisallowedHost:
            return self.app(environ, start_response)  # the chain's 400, as for any request
        secure = request.is_secure()  # as Django sees it: SECURE_PROXY_SSL_HEADER behind nginx
        if settings.SECURE_SSL_REDIRECT and not secure:
            return self.app(environ, start_response)  # SecurityMiddleware's redirect
        data = anonymous_code_cast(request)
        if data is None:
            # Not one for here after all: Django reads the body again from the start.
            environ["wsgi.input"] = io.BytesIO(request.body)
            return self.app(environ, start_response)
        language = translation.get_language_from_request(request)
        chain = _chain_headers(language, secure)
        if chain is None:
            environ["wsgi.input"] = io.BytesIO(request.body)
            return self.app(environ, start_response)
        return self._serve(request, int(match[1]), data, language, chain, start_response)

    @staticmethod
    def _may_serve(environ: dict[str, Any]) -> bool:
        """No credentials, and nothing the outer middleware would answer instead of the view."""
        if "HTTP_AUTHORIZATION" in environ or settings.PREPEND_WWW:
            return False
        if settings.SESSION_COOKIE_NAME in environ.get("HTTP_COOKIE", ""):
            return False  # even a look-alike name: the chain decides
        if settings.DISALLOWED_USER_AGENTS:
            return False
        try:  # a ballot is a few hundred bytes: anything large is the chain's to refuse (400)
            return 0 < int(environ.get("CONTENT_LENGTH") or 0) <= _LARGEST_BODY
        except ValueError:
            return False

    def _serve(
        self,
        request: WSGIRequest,
        round_id: int,
        data: dict[str, Any],
        language: str,
        chain: ChainHeaders,
        start_response: StartResponse,
    ) -> Iterable[bytes]:
        signals.request_started.send(sender=WSGIHandler, environ=request.environ)
        given = request.environ.get("HTTP_X_REQUEST_ID", "")
        rid = given if _SENSIBLE_ID.match(given) else uuid.uuid4().hex
        request_id.current.set(rid)
        translation.activate(language)
        request.LANGUAGE_CODE = language
        try:
            response: Any = cast_with_code(request, round_id, data)
        except Exception as exc:  # as Django answers an exception from a view
            response = response_for_exception(request, exc)
        finally:
            signals.request_finished.send(sender=WSGIHandler)
        if response.status_code >= 400:
            log_response(
                "%s: %s", response.reason_phrase, request.path, response=response, request=request
            )
        added, vary = chain
        headers = [(k, v) for k, v in response.items() if k != "Vary"]
        headers += added
        own = [v for v in response.get("Vary", "").split(", ") if v]
        headers.append(("Vary", ", ".join(own + [v for v in vary if v not in own])))
        content = response.content
        headers += [("Content-Length", str(len(content))), ("X-Request-ID", rid)]
        start_response(f"{response.status_code} {response.reason_phrase}", headers)
        return [content]

"""A request id on every request, its response and every log line written while serving it.

The id comes from the proxy's ``X-Request-ID`` when it sends a sensible one (nginx:
``proxy_set_header X-Request-ID $request_id``), else a new one; it goes back in the response's
``X-Request-ID`` so a resident's "it failed" can be matched to the log.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar

from django.http import HttpRequest, HttpResponseBase

current: ContextVar[str] = ContextVar("request_id", default="-")
_SENSIBLE = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        given = request.headers.get("X-Request-ID", "")
        rid = given if _SENSIBLE.match(given) else uuid.uuid4().hex
        # Not reset on the way out: Django logs a 4xx/5xx answer ("Not Found: /x") after the
        # middleware has returned. The next request on this thread (or task) sets its own.
        current.set(rid)
        response = self.get_response(request)
        response["X-Request-ID"] = rid
        return response


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every record ("-" outside a request: workers, beat)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current.get()
        return True

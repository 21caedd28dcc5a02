"""API plumbing shared by every app: one JSON error body for every 4xx and 5xx.

Every error answers ``{"error": {"status", "code", "detail", "fields"}}`` so clients need one
parser. ``fields`` maps field names to messages for validation errors.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from backend.errors import DomainError, Missing
from backend.health import RETRY_AFTER, database_unavailable, pool_discard_broken

log = logging.getLogger(__name__)


def error_body(
    status_code: int, code: str, detail: str, fields: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "error": {"status": status_code, "code": code, "detail": detail, "fields": fields or {}}
    }


def _flatten(detail: Any) -> Any:
    if isinstance(detail, dict):
        return {k: _flatten(v) for k, v in detail.items()}
    if isinstance(detail, list):
        return [str(d) if not isinstance(d, dict | list) else _flatten(d) for d in detail]
    return str(detail)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        return Response(error_body(exc.status, exc.code, exc.message, exc.fields), exc.status)
    if isinstance(exc, DjangoValidationError):
        fields = exc.message_dict if hasattr(exc, "error_dict") else {}
        detail = "; ".join(exc.messages)
        return Response(error_body(400, "invalid", detail, fields), status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, Missing):
        exc = exceptions.NotFound(str(exc))
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    if database_unavailable(exc):
        pool_discard_broken()
        return Response(
            error_body(503, "unavailable", UNAVAILABLE),
            503,
            headers={"Retry-After": str(RETRY_AFTER)},
        )
    response = drf_exception_handler(exc, context)
    if response is None:
        # Unexpected: log with the traceback for us, answer a plain JSON 500 for the client.
        log.exception("Unhandled API error", exc_info=exc)
        return Response(
            error_body(500, "server_error", "Something went wrong on our side. Please try again."),
            status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    assert isinstance(exc, exceptions.APIException)
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail) if isinstance(exc.detail, dict) else {}
        if isinstance(exc.detail, dict):
            detail = "Some fields are not valid."
            non_field = fields.pop("non_field_errors", None)
            if non_field:
                detail = " ".join(non_field)
        else:
            detail = " ".join(_flatten(exc.detail))
        response.data = error_body(response.status_code, "invalid", detail, fields)
    else:
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else "error"
        response.data = error_body(response.status_code, code, str(exc.detail))
    return response


def json_404(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse(error_body(404, "not_found", "Not found."), status=404)


def json_403(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse(
        error_body(403, "not_allowed", "You do not have permission to do this."), status=403
    )


UNAVAILABLE = "The service is briefly unavailable. Please try again in a minute."


def json_503(request: HttpRequest) -> JsonResponse:
    return JsonResponse(error_body(503, "unavailable", UNAVAILABLE), status=503)


def json_500(request: HttpRequest) -> JsonResponse:
    return JsonResponse(
        error_body(500, "server_error", "Something went wrong on our side. Please try again."),
        status=500,
    )

"""Domain errors raised by services and mapped to HTTP answers in one place.

Services never return HTTP responses; they raise one of these with a message written for the
person who caused it. Views turn them into form errors or messages, the API into a 4xx JSON
body (``backend.api.exception_handler``) and consumers into ``error`` frames.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from django.http import Http404


class DomainError(Exception):
    """A request that cannot be carried out as asked; nothing was changed."""

    status = 400
    code = "invalid"

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        fields: Mapping[str, Sequence[str]] | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.fields: dict[str, list[str]] = {k: list(v) for k, v in (fields or {}).items()}
        if field:
            self.fields.setdefault(field, []).append(message)
        if code:
            self.code = code


class NotAllowed(DomainError):
    """The user's role, scope or the round's phase does not permit this action."""

    status = 403
    code = "not_allowed"


class Conflict(DomainError):
    """The action clashes with the current state: a second vote, a stale review."""

    status = 409
    code = "conflict"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Missing(Http404):
    """Nothing here for this person (no such thing, or one they may not see): pages answer their
    404 page, the API a 404 whose detail is this message."""

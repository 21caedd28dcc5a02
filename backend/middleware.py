"""Request middleware of our own."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import translation


class AccountLanguageMiddleware:
    """A signed-in person sees the language stored on their account.

    Django's ``LocaleMiddleware`` (which runs earlier) has already chosen from the language
    cookie or the browser's ``Accept-Language``; the account's choice wins over both, so a
    resident who chose Welsh on their phone gets Welsh on the library's computer after logging
    in. It must run after ``AuthenticationMiddleware``.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        language = getattr(user, "language", "") if user is not None else ""
        if language and user is not None and user.is_authenticated:
            translation.activate(language)
            request.LANGUAGE_CODE = translation.get_language()
        return self.get_response(request)

"""A second vote (409) is an answer, not a fault: it is not logged as a warning."""

from __future__ import annotations

import logging
from typing import Any

from django.http import HttpResponse
from django.utils.log import log_response


def test_conflicts_are_not_logged_but_other_client_errors_are(caplog: Any, rf: Any):
    request = rf.post("/api/v1/rounds/1/ballots/")
    with caplog.at_level(logging.WARNING, logger="django.request"):
        log_response(
            "Conflict: %s", request.path, response=HttpResponse(status=409), request=request
        )
        log_response(
            "Bad Request: %s", request.path, response=HttpResponse(status=400), request=request
        )
    messages = [r.getMessage() for r in caplog.records if r.name == "django.request"]
    assert messages == ["Bad Request: /api/v1/rounds/1/ballots/"]

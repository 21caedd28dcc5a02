"""Logging filters named in ``settings.LOGGING``."""

from __future__ import annotations

import logging


class SkipConflicts(logging.Filter):
    """Drop Django's "Conflict: /path" warning for 409 answers.

    A 409 is an expected answer to a person (a second vote, a review someone else saved
    first), not a fault; at a decision-day rush a line per repeat attempt costs time and buries
    the warnings that matter. Every other 4xx and 5xx is still logged.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return getattr(record, "status_code", None) != 409

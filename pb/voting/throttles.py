"""How many wrong voter codes one client may try: DRF's cache-backed throttle, counting refusals.

DRF's ``SimpleRateThrottle`` keeps each client's recent timestamps in the cache (Redis in
production, so every web process sees the same count). Here it counts only *refused* codes, not
every cast: a family voting from one home, or a library's shared address, casts as often as it
likes; someone trying codes is stopped after ``VOTER_CODE_FAILURES`` refusals and told when to
try again (429 and ``Retry-After``). The API and the HTML ballot use the same throttle; a kiosk
counts per kiosk, since every kiosk at a venue shares the venue's address.

The client is ``REMOTE_ADDR``, or the address ``REST_FRAMEWORK["NUM_PROXIES"]`` proxies in
front put in ``X-Forwarded-For``: with no proxy configured a client cannot pick its own
address by sending that header.
"""

from __future__ import annotations

import math
from typing import Any

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle


class VoterCodeFailures(SimpleRateThrottle):
    scope = "voter_code"

    def __init__(self, request: Any, *, kiosk_id: Any = None) -> None:
        super().__init__()
        self.num_requests: int
        self.duration: int
        ident = f"kiosk-{kiosk_id}" if kiosk_id is not None else self.get_ident(request)
        self.key = self.cache_format % {"scope": self.scope, "ident": ident}
        self.now = self.timer()
        history = self.cache.get(self.key, [])
        self.history = [t for t in history if t > self.now - self.duration]

    def get_rate(self) -> str:
        return str(settings.VOTER_CODE_FAILURES)  # read here, so a test's settings apply

    def get_cache_key(self, request: Any, view: Any) -> str:
        return str(self.key)

    @property
    def blocked(self) -> bool:
        """Whether this client has used up its refusals for now."""
        return len(self.history) >= self.num_requests

    def refused(self) -> None:
        """Count one refused code for this client."""
        self.history.insert(0, self.now)
        self.cache.set(self.key, self.history, self.duration)

    def wait(self) -> float:
        """Seconds until the oldest refusal in the window no longer counts."""
        if not self.history:
            return 0.0
        return max(0.0, self.duration - (self.now - self.history[-1]))

    def retry_after(self) -> str:
        return str(max(1, math.ceil(self.wait())))


class SurveyCodeFailures(VoterCodeFailures):
    """Wrong, used or made-up survey codes one client may send to the survey by code: the same
    allowance as voter codes (``VOTER_CODE_FAILURES``), counted apart from them."""

    scope = "survey_code"

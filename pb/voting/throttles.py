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

import functools
import logging
import math
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from rest_framework.throttling import SimpleRateThrottle


class VoterCodeFailures(SimpleRateThrottle):
    scope = "voter_code"

    def __init__(self, request: Any, *, kiosk_id: Any = None, read_later: bool = False) -> None:
        """``read_later``: the cache read is sent now and its answer read when ``blocked`` is
        first asked, which the caller must then do whatever happens (``try``/``finally``):
        until then a Redis connection is out of its pool (backend.cache.RedisCache.get_later;
        other caches read it then)."""
        super().__init__()
        self.num_requests: int
        self.duration: int
        ident = f"kiosk-{kiosk_id}" if kiosk_id is not None else self.get_ident(request)
        self.key = self.cache_format % {"scope": self.scope, "ident": ident}
        self.now = self.timer()
        get_later = getattr(self.cache, "get_later", None) if read_later else None
        self._later: Callable[[], Any] | None = (
            get_later(self.key, [])
            if get_later is not None
            else functools.partial(self.cache.get, self.key, [])
        )
        if not read_later:
            self._read()

    def _read(self) -> None:
        """This client's refusals within the window, newest first, into ``history``."""
        if self._later is not None:
            history, self._later = self._later(), None
            self.history = [t for t in history if t > self.now - self.duration]

    def get_rate(self) -> str:
        return str(settings.VOTER_CODE_FAILURES)  # read here, so a test's settings apply

    def get_cache_key(self, request: Any, view: Any) -> str:
        return str(self.key)

    @property
    def blocked(self) -> bool:
        """Whether this client has used up its refusals for now."""
        self._read()
        return len(self.history) >= self.num_requests

    def refused(self) -> None:
        """Count one refused code for this client."""
        self._read()
        self.history.insert(0, self.now)
        self.cache.set(self.key, self.history, self.duration)

    def wait(self) -> float:
        """Seconds until the oldest refusal in the window no longer counts."""
        self._read()
        if not self.history:
            return 0.0
        return max(0.0, self.duration - (self.now - self.history[-1]))

    def retry_after(self) -> str:
        return str(max(1, math.ceil(self.wait())))


class SurveyCodeFailures(VoterCodeFailures):
    """Wrong, used or made-up survey codes one client may send to the survey by code: the same
    allowance as voter codes (``VOTER_CODE_FAILURES``), counted apart from them."""

    scope = "survey_code"


# --- Register desk searches -----------------------------------------------------------------

logger = logging.getLogger(__name__)

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_local_lock = threading.Lock()


def parse_rate(rate: str) -> tuple[int, int]:
    """``"150/hour"`` as ``(150, 3600)``: the "count/period" form of ``VOTER_CODE_FAILURES``."""
    count, _slash, period = rate.partition("/")
    return int(count), _PERIODS[period.strip()[:1].lower()]


class DeskSearches:
    """How many register searches one member of staff may make at the desks: at most ``limit``
    in any ``seconds`` (``settings.DESK_SEARCHES``), counted over the last ``seconds`` exactly
    (a sliding window: no burst at the turn of a clock hour), across every round and desk.

    A desk serves a voter a minute at its busiest, with a search or two each; a member of staff
    paging through the register by surnames and years of birth needs thousands. A refused search
    is not counted, so waiting works.

    On Redis (production and CI) each search is one ``MULTI`` on a sorted set of the window's
    search times (``ZREMRANGEBYSCORE``, ``ZADD``, ``ZCARD``): atomic, so parallel requests
    cannot slip past the limit as they can past DRF's read-modify-write history (which the
    voter code throttle above uses, where a race costs little). Without Redis (the single
    machine demo's in-process cache) a lock does the same within the process. If Redis does not
    answer the search is let through and logged: a desk must keep working through a blip, and
    the audit log still records every search.
    """

    scope = "desk_search"

    def __init__(self, *, user_id: int) -> None:
        self.limit, self.seconds = parse_rate(str(settings.DESK_SEARCHES))
        self.cache: Any = caches["default"]
        self.name = f"throttle_{self.scope}_{user_id}"
        self.key = self.cache.make_and_validate_key(self.name)  # with the cache's prefix
        #: Seconds until the next search would be allowed, after a refusal.
        self.wait = 0.0

    def take(self) -> bool:
        """Count one search now and say whether it is allowed (a refused one is not counted)."""
        now = time.time()
        try:
            if isinstance(self.cache, RedisCache):
                return self._take_redis(now)
        except Exception:  # Redis is down: let the desk work, the audit log records the search
            logger.warning("Desk search limit not checked for %s", self.key, exc_info=True)
            return True
        return self._take_local(now)

    def _take_redis(self, now: float) -> bool:
        client = self.cache._cache.get_client(self.key, write=True)
        member = f"{now!r}:{secrets.token_hex(6)}"
        with client.pipeline(transaction=True) as pipe:
            pipe.zremrangebyscore(self.key, "-inf", now - self.seconds)
            pipe.zadd(self.key, {member: now})
            pipe.zcard(self.key)
            pipe.zrange(self.key, 0, 0, withscores=True)
            pipe.expire(self.key, self.seconds + 1)
            _removed, _added, count, oldest, _expiry = pipe.execute()
        if count <= self.limit:
            return True
        client.zrem(self.key, member)
        self.wait = max(0.0, float(oldest[0][1]) + self.seconds - now) if oldest else 0.0
        return False

    def _take_local(self, now: float) -> bool:
        with _local_lock:
            history = [t for t in self.cache.get(self.name, []) if t > now - self.seconds]
            if len(history) >= self.limit:
                self.wait = max(0.0, min(history) + self.seconds - now)
                return False
            self.cache.set(self.name, [*history, now], self.seconds + 1)
            return True

    def retry_after(self) -> str:
        return str(max(1, math.ceil(self.wait)))

    def first_refusal(self) -> bool:
        """Whether this refusal is the first since the limit was reached (so the audit log
        records a run of refusals once, however many requests a script sends)."""
        try:
            return bool(self.cache.add(f"{self.name}_refused", 1, max(1, math.ceil(self.wait))))
        except Exception:  # the cache went away since the refusal: record it rather than not
            return True

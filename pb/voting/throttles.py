"""How many wrong voter codes one client may try, counting refusals; and desk search limits.

``VoterCodeFailures`` counts only *refused* codes, not every cast: a family voting from one
home, or a library's shared address, casts as often as it likes; someone trying codes is stopped
once ``VOTER_CODE_FAILURES`` (``"20/hour"``) refusals fall within the window, and told when to
try again (429 and ``Retry-After``). The API, the HTML ballot and the survey by code use it; a
kiosk counts per kiosk, since every kiosk at a venue shares the venue's address.

The refusals are rows in PostgreSQL (``CodeRefusal``), one per refusal, under a keyed hash of
the scope and the client: every web process sees the same count, two refusals at once are both
counted (a row each, no read-modify-write), and the anonymous voter-code cast checks the count
inside its own statement (``pb.voting.services.casting``), where a read from Redis cost a round
trip on every cast for what is almost never there (docs/voting-performance.md: a fifth of the
casting rate).

The client is ``REMOTE_ADDR``, or the address ``REST_FRAMEWORK["NUM_PROXIES"]`` proxies in
front put in ``X-Forwarded-For``: with no proxy configured a client cannot pick its own
address by sending that header.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import math
import secrets
import threading
import time
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.db import connection
from django.db.models import Count, Min
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.client_ip import client_ip
from backend.errors import DomainError
from pb.voting.models import CodeRefusal


@dataclass(frozen=True)
class RefusalWindow:
    """A client's window for counting refused codes: stopped when ``limit`` or more refusals
    of ``client`` are later than ``since``."""

    client: str
    limit: int
    since: dt.datetime
    seconds: int

    def wait(self, oldest: dt.datetime | None, now: dt.datetime) -> float:
        """Seconds until the oldest refusal in the window no longer counts."""
        if oldest is None:
            return 0.0
        return max(0.0, self.seconds - (now - oldest).total_seconds())


def retry_after(wait: float) -> str:
    """A ``Retry-After`` value: whole seconds, at least one."""
    return str(max(1, math.ceil(wait)))


class CodesRefusedTooOften(DomainError):
    """This client has had too many voter codes refused for now (429, with ``retry_after``)."""

    status = 429
    code = "throttled"

    def __init__(self, wait: float) -> None:
        super().__init__(_("Too many voter codes were refused from here. Wait, then try again."))
        self.retry_after = retry_after(wait)


@cache
def _refused_sql() -> str:
    """Forget refusals older than the window (every client's, at most 100 at a time, none
    another refusal is deleting: refusals at once never wait for each other) and count one."""
    qn = connection.ops.quote_name
    table = qn(CodeRefusal._meta.db_table)
    return (
        f"WITH gone AS (DELETE FROM {table} WHERE {qn('id')} IN (SELECT {qn('id')}"  # noqa: S608
        f" FROM {table} WHERE {qn('at')} <= %s LIMIT 100 FOR UPDATE SKIP LOCKED))"
        f" INSERT INTO {table} ({qn('client')}, {qn('at')}) VALUES (%s, %s)"
    )


class VoterCodeFailures:
    scope = "voter_code"

    def __init__(self, request: Any, *, kiosk_id: Any = None) -> None:
        self.limit, self.seconds = parse_rate(str(settings.VOTER_CODE_FAILURES))
        ident = f"kiosk-{kiosk_id}" if kiosk_id is not None else client_ip(request)
        key = str(settings.VOTER_CODE_KEY).encode()
        self.client = hmac.new(key, f"{self.scope}:{ident}".encode(), hashlib.sha256).hexdigest()
        self.now = timezone.now()
        self._read: tuple[int, dt.datetime | None] | None = None

    def window(self) -> RefusalWindow:
        since = self.now - dt.timedelta(seconds=self.seconds)
        return RefusalWindow(self.client, self.limit, since, self.seconds)

    def _refusals(self) -> tuple[int, dt.datetime | None]:
        """How many refusals of this client fall in the window, and the oldest of them."""
        if self._read is None:
            found = CodeRefusal.objects.filter(
                client=self.client, at__gt=self.window().since
            ).aggregate(count=Count("id"), oldest=Min("at"))
            self._read = (int(found["count"]), found["oldest"])
        return self._read

    @property
    def blocked(self) -> bool:
        """Whether this client has used up its refusals for now."""
        return self._refusals()[0] >= self.limit

    def refused(self) -> None:
        """Count one refused code for this client, and forget every client's refusals older
        than the window: one statement on PostgreSQL, and nothing read (a refusal is a fifth of
        a voting rush's answers when people press "vote" twice)."""
        since = self.window().since
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(_refused_sql(), [since, self.client, self._at()])
        else:
            CodeRefusal.objects.create(client=self.client, at=self._at())
            CodeRefusal.objects.filter(at__lte=since).delete()
        if self._read is not None:
            count, oldest = self._read
            self._read = (count + 1, oldest or self.now)

    def _at(self) -> dt.datetime:
        """When a refusal is stored as made: to the second, no finer than the limit needs."""
        return self.now.replace(microsecond=0)

    def wait(self) -> float:
        """Seconds until the oldest refusal in the window no longer counts."""
        return self.window().wait(self._refusals()[1], self.now)

    def retry_after(self) -> str:
        return retry_after(self.wait())

    def check(self) -> None:
        """Refuse now if this client has used up its refusals (``CodesRefusedTooOften``)."""
        if self.blocked:
            raise CodesRefusedTooOften(self.wait())


def refusals_stop(window: RefusalWindow) -> None:
    """``VoterCodeFailures.check`` for a window (``CodesRefusedTooOften`` if it is used up),
    where the casting statement could not check it itself."""
    now = timezone.now()
    found = CodeRefusal.objects.filter(client=window.client, at__gt=window.since).aggregate(
        count=Count("id"), oldest=Min("at")
    )
    if found["count"] >= window.limit:
        raise CodesRefusedTooOften(window.wait(found["oldest"], now))


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

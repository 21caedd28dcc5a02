"""The client's address, the same way for the log-in lock-out and the API's throttles.

``REMOTE_ADDR``, unless ``REST_FRAMEWORK["NUM_PROXIES"]`` proxies sit in front of the app: then
the address the outermost of them appended to ``X-Forwarded-For``. A client cannot choose the
address it is counted against by sending that header itself.
"""

from __future__ import annotations

from typing import Any

from rest_framework.throttling import BaseThrottle


def client_ip(request: Any) -> str | None:
    return BaseThrottle().get_ident(request)

"""The client's address, the same way for the log-in lock-out and the API's throttles.

``REMOTE_ADDR``, unless ``REST_FRAMEWORK["NUM_PROXIES"]`` proxies sit in front of the app: then
the address the outermost of them appended to ``X-Forwarded-For``. A client cannot choose the
address it is counted against by sending that header itself.
"""

from __future__ import annotations

from typing import Any

from rest_framework.settings import api_settings


def client_ip(request: Any) -> str | None:
    """DRF's ``BaseThrottle.get_ident``, reading ``META`` as it is: DRF builds the request's
    whole ``headers`` mapping for the one header, on every ballot cast."""
    xff = request.META.get("HTTP_X_FORWARDED_FOR")
    remote_addr = request.META.get("REMOTE_ADDR")
    num_proxies = api_settings.NUM_PROXIES
    if num_proxies is not None:
        if num_proxies == 0 or xff is None:
            return remote_addr
        addrs = xff.split(",")
        return str(addrs[-min(num_proxies, len(addrs))].strip())
    return "".join(xff.split()) if xff else remote_addr

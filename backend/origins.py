"""The WebSocket handshake's ``Origin`` check: scheme, host and port, as Django checks a form.

Channels' ``AllowedHostsOriginValidator`` compares only the host name with ``ALLOWED_HOSTS``,
so a page served from ``http://council.example:8080`` or ``http://council.example`` could open a
socket to ``https://council.example`` with the visitor's cookies. Here an origin is accepted
when it is exactly the origin the socket was opened on (the scheme, ``https`` for ``wss`` or
when ``SECURE_PROXY_SSL_HEADER`` says so, and the ``Host`` header, which must be one of
``ALLOWED_HOSTS``), ``SITE_URL``'s origin, or one of ``CSRF_TRUSTED_ORIGINS`` (the same list
Django's CSRF check trusts). Anything else is refused before the consumer runs.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

DEFAULT_PORTS = {"http": 80, "https": 443}


def normalise(origin: str) -> str | None:
    """``scheme://host:port`` in lower case with the port always written, or None when
    ``origin`` is not an http(s) origin."""
    try:
        parts = urlsplit(origin.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        return None
    host = parts.hostname.lower()
    if ":" in host:  # IPv6
        host = f"[{host}]"
    return f"{scheme}://{host}:{port or DEFAULT_PORTS[scheme]}"


def _headers(scope: dict[str, Any]) -> dict[bytes, bytes]:
    return {name.lower(): value for name, value in scope.get("headers") or []}


def _secure(scope: dict[str, Any], headers: dict[bytes, bytes]) -> bool:
    if scope.get("scheme") in ("wss", "https"):
        return True
    proxy = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if proxy:
        name, value = proxy
        header = name.removeprefix("HTTP_").replace("_", "-").lower().encode("latin-1")
        sent = headers.get(header, b"").decode("latin-1").split(",")[0].strip()
        return sent == value
    return False


def own_origin(scope: dict[str, Any]) -> str | None:
    """The origin of the address the socket was opened on, if its host is allowed."""
    headers = _headers(scope)
    host = headers.get(b"host", b"").decode("latin-1")
    if not host and scope.get("server"):
        server_host, server_port = scope["server"][0], scope["server"][1]
        host = f"{server_host}:{server_port}" if server_port else str(server_host)
    domain, _port = split_domain_port(host)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return None
    scheme = "https" if _secure(scope, headers) else "http"
    return normalise(f"{scheme}://{host}")


def trusted_origins() -> set[str]:
    found = {normalise(settings.SITE_URL)} if getattr(settings, "SITE_URL", "") else set()
    found |= {normalise(origin) for origin in settings.CSRF_TRUSTED_ORIGINS if "*" not in origin}
    return {origin for origin in found if origin}


def origin_allowed(scope: dict[str, Any]) -> bool:
    sent = _headers(scope).get(b"origin")
    if not sent:
        return False
    origin = normalise(sent.decode("latin-1"))
    if origin is None:
        return False
    return origin == own_origin(scope) or origin in trusted_origins()


class SameOriginValidator:
    """ASGI middleware: refuse a WebSocket whose ``Origin`` is not allowed (see module)."""

    def __init__(self, application: Any) -> None:
        self.application = application
        self.denier = WebsocketDenier.as_asgi()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] == "websocket" and not origin_allowed(scope):
            return await self.denier(scope, receive, send)
        return await self.application(scope, receive, send)

"""ASGI entry point: HTTP through Django, WebSockets through Channels.

``get_asgi_application()`` must run before anything imports models, hence the late imports.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from backend.consumers import DirectSend  # noqa: E402
from backend.health import WebSocketOutageGuard  # noqa: E402
from backend.origins import SameOriginValidator  # noqa: E402
from backend.routing import websocket_urlpatterns  # noqa: E402
from backend.server_loop import ServerLoop  # noqa: E402

application = ProtocolTypeRouter(
    {
        # Views run in worker threads; ServerLoop lets them hand broadcasts to the loop.
        "http": ServerLoop(django_asgi_app),
        # The Origin must match in scheme, host and port (backend/origins.py), not host alone.
        # A database outage (reading the session, or in a consumer) asks the client to try
        # again (backend/health.py) rather than failing with a traceback.
        # DirectSend: a room's fan-out writes text frames past the middleware below.
        "websocket": DirectSend(
            WebSocketOutageGuard(
                SameOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))
            )
        ),
    }
)

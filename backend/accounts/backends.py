"""django-axes' lock-out check, for log-ins that come from a web request.

Axes' backend refuses to run without the request (it counts by client address). Every log-in a
person makes through the site passes it (the log-in page, the admin, the password reset); a
call without one is code in this process, such as a test's ``Client.login``, where there is no
address to count and nothing to lock out, so it is left to Django's ``ModelBackend``.
"""

from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend


class LockoutBackend(AxesStandaloneBackend):
    def authenticate(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        if request is None:
            return None
        return super().authenticate(request, *args, **kwargs)

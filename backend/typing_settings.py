"""The settings mypy's Django plugin reads (pyproject ``[tool.django-stubs]``): the real ones,
on a developer's defaults. DEBUG is off unless set, and the settings refuse the development
key with DEBUG off, so a bare ``mypy`` would otherwise stop before checking anything."""

import os

os.environ.setdefault("DEBUG", "true")

from backend.settings import *  # noqa: F403

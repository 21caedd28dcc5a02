"""The API's request parsers.

A module of its own, importing nothing of ``rest_framework.views``: DRF's settings name this
parser, and ``rest_framework.views`` reads those settings while its ``APIView`` class is being
defined. Kept in ``backend.api`` (which imports ``rest_framework.views``), the parser made the
import order matter: whatever imported ``backend.api`` first (a command, a worker, a test file
alone) failed with "Module backend.api does not define JSONParser".
"""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions, parsers


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, except that a body nested too deeply for Python's parser (``[[[[...``)
    is a 400 ``parse_error`` like any other bad JSON, not a RecursionError and a 500."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise exceptions.ParseError("JSON parse error - nested too deeply") from exc

"""REST endpoints for casting ballots and reading turnout. HTTP only: the work is in services.

``POST /api/v1/rounds/{id}/ballots/`` answers 201 with the receipt, 409 when this account has
already voted or the voter code cannot be used (one answer, word for word, whether the code is
unknown, used, malformed or for another area, so nobody can test codes without spending them),
400 for a malformed or ineligible ballot, 403 outside the voting phase, 429 with
``Retry-After`` after too many refused codes from one client (``pb.voting.throttles``); every
error in the one JSON shape of ``backend.api``.

A cast with a voter code and no credentials (no session cookie, no ``Authorization`` header),
the bulk of a voting rush, skips DRF's request wrapping, content negotiation and serializer:
``cast_with_code`` parses the JSON itself, reads the round and the code in one query and writes
both rows in one statement, answering the same bodies and statuses. It is called by
``pb.voting.fast_path.BallotCastApp`` in front of Django's handler (the WSGI application
gunicorn serves), or by ``BallotCreateView.dispatch`` when a request gets that far (the ASGI
application in development, Django's test client). Anything else (an account, a
form-encoded body, a field the fast path does not take as it is) goes through DRF exactly as
before.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.api import error_body
from backend.errors import DomainError
from pb.rounds.models import Round
from pb.rounds.selectors import get_visible_round
from pb.voting import selectors
from pb.voting.services.casting import (
    CASTING_FIELDS,
    CODE_NOT_ACCEPTED,
    Receipt,
    ballot_cast,
    ballot_cast_with_code,
    code_cast_prepare,
    code_not_accepted,
)
from pb.voting.services.codes import receipt_hash
from pb.voting.throttles import CodesRefusedTooOften, VoterCodeFailures


class BallotInSerializer(serializers.Serializer):
    selections = serializers.JSONField(
        help_text='Approval: a list of project ids, or {"12": 1}; score and cumulative: '
        '{"12": 7}; ranking: {"12": 1, "15": 2} (1 = first choice).'
    )
    area = serializers.IntegerField(required=False, allow_null=True)
    # No length limit here: a code of the wrong shape gets the same answer as an unknown or
    # used one (pb.voting.services.casting.code_not_accepted), not a validation message.
    voter_code = serializers.CharField(required=False, allow_blank=True)
    own_bid = serializers.IntegerField(required=False, allow_null=True)


class ReceiptSerializer(serializers.Serializer):
    receipt = serializers.CharField()
    receipt_hash = serializers.CharField()
    round = serializers.IntegerField()
    area = serializers.IntegerField()
    channel = serializers.CharField()
    cast_on = serializers.DateField()
    selections = serializers.DictField(child=serializers.IntegerField())
    survey_code = serializers.CharField(
        help_text="For a voter code: answers the influence survey once, after the results "
        "(POST /rounds/{slug}/survey/code/). Empty for an account, whose survey goes by it."
    )


def _json(body: dict[str, Any], status_code: int) -> HttpResponse:
    """What DRF's JSONRenderer and APIView.finalize_response would answer."""
    response = HttpResponse(
        json.dumps(body, ensure_ascii=False, allow_nan=False, separators=(",", ":")),
        status=status_code,
        content_type="application/json",
    )
    response["Vary"] = "Accept"
    response["Allow"] = "POST, OPTIONS"
    return response


def _strict_constant(value: str) -> Any:
    raise ValueError(f"Invalid JSON constant: {value}")  # as DRF's JSONParser: no NaN


def _int_or_none(value: Any) -> bool:
    return value is None or (isinstance(value, int) and not isinstance(value, bool))


def anonymous_code_cast(request: HttpRequest) -> dict[str, Any] | None:
    """The fields of an anonymous JSON cast with a voter code, or None to let DRF handle it."""
    if (
        request.method != "POST"
        or request.content_type != "application/json"
        or (request.content_params or {}).get("charset", "utf-8").lower() not in ("utf-8", "utf8")
        or "HTTP_AUTHORIZATION" in request.META
        or settings.SESSION_COOKIE_NAME in request.COOKIES
        or getattr(request, "_force_auth_user", None) is not None  # DRF's test client
        or getattr(request, "_force_auth_token", None) is not None
    ):
        return None
    try:
        data = json.loads(request.body, parse_constant=_strict_constant)
    except (ValueError, RecursionError):
        return None  # DRF words the parse error (too deep included: backend.parsers.JSONParser)
    if not isinstance(data, dict) or "selections" not in data:
        return None
    code = data.get("voter_code")
    if not isinstance(code, str) or not code.strip() or len(code.strip()) > 40:
        return None
    if not (_int_or_none(data.get("area")) and _int_or_none(data.get("own_bid"))):
        return None
    return data


class BallotCreateView(APIView):
    """Cast a ballot with the signed-in account, or with ``voter_code`` when not signed in."""

    permission_classes = [permissions.AllowAny]

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        # Under gunicorn mostly served before it gets here, by pb.voting.fast_path; this is the
        # same cast for a request that came through the whole middleware chain.
        data = anonymous_code_cast(request)
        if data is None:
            return super().dispatch(request, *args, **kwargs)
        return cast_with_code(request, kwargs["pk"], data)

    @extend_schema(
        request=BallotInSerializer,
        responses={
            201: ReceiptSerializer,
            400: OpenApiResponse(description="Malformed or ineligible ballot"),
            403: OpenApiResponse(description="The round is not in its voting phase"),
            409: OpenApiResponse(
                description="This account has already voted, or the voter code cannot be "
                "used (unknown, used, malformed or for another area: one answer for all)"
            ),
            429: OpenApiResponse(
                description="Too many refused voter codes from this client; see Retry-After"
            ),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        round_ = get_visible_round(
            user=request.user, pk=pk, queryset=Round.objects.only(*CASTING_FIELDS)
        )
        raw_code = request.data.get("voter_code") if hasattr(request.data, "get") else None
        throttle = VoterCodeFailures(request) if raw_code not in (None, "") else None
        if throttle is not None and throttle.blocked:
            return _throttled(CodesRefusedTooOften(throttle.wait()))  # type: ignore[return-value]
        try:
            if raw_code is not None and not isinstance(raw_code, str | int):
                raise code_not_accepted()  # a list or an object is no code either
            data = BallotInSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            fields: dict[str, Any] = data.validated_data
            receipt = ballot_cast(
                round=round_,
                selections=fields["selections"],
                area_id=fields.get("area"),
                voter=request.user,
                voter_code=fields.get("voter_code", ""),
                own_bid=fields.get("own_bid"),
            )
        except DomainError as exc:
            if throttle is not None and exc.code == CODE_NOT_ACCEPTED:
                throttle.refused()
            raise
        return Response(_receipt_body(receipt), status=status.HTTP_201_CREATED)


def cast_with_code(request: HttpRequest, round_id: int, data: dict[str, Any]) -> HttpResponse:
    """The anonymous voter-code cast (``anonymous_code_cast`` said yes): the answer DRF's path
    would give, status, body and the view's own headers. A client that has had too many codes
    refused gets its 429 before anything else; the casting statement checks that itself."""
    throttle = VoterCodeFailures(request)
    try:
        receipt = ballot_cast_with_code(
            code_cast_prepare(
                round_id=round_id,
                voter_code=data["voter_code"].strip(),
                selections=data["selections"],
                refusals=throttle.window(),
                area_id=data.get("area"),
                own_bid=data.get("own_bid"),
            )
        )
    except CodesRefusedTooOften as exc:
        return _throttled(exc)
    except DomainError as exc:
        if exc.code == CODE_NOT_ACCEPTED:
            throttle.refused()
        return _json(error_body(exc.status, exc.code, exc.message, exc.fields), exc.status)
    return _json(_receipt_body(receipt), status.HTTP_201_CREATED)


def _throttled(exc: CodesRefusedTooOften) -> HttpResponse:
    """429 with Retry-After: this client has had too many voter codes refused for now."""
    response = _json(error_body(exc.status, exc.code, exc.message), exc.status)
    response["Retry-After"] = exc.retry_after
    return response


def _receipt_body(receipt: Receipt) -> dict[str, Any]:
    return {
        "receipt": receipt.code,
        "receipt_hash": receipt_hash(receipt.code),
        "round": receipt.round_id,
        "area": receipt.area_id,
        "channel": receipt.channel,
        "cast_on": receipt.cast_on.isoformat(),
        "selections": receipt.selections,
        "survey_code": receipt.survey_code,
    }


class TurnoutView(APIView):
    """Participation by area and channel, from a count refreshed every few seconds."""

    permission_classes = [permissions.AllowAny]

    @extend_schema(responses={200: OpenApiResponse(description="Turnout by area and channel")})
    def get(self, request: Request, pk: int) -> Response:
        round_ = get_visible_round(user=request.user, pk=pk)
        return Response(selectors.turnout(round=round_))

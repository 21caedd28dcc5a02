"""The ticket a register desk's search result carries to its tick button.

A tick is accepted only with a token that the search signed for this member of staff, in this
round, a few minutes ago (``django.core.signing``, salted with both ids). A raw register id is
refused, so staff cannot walk through the register by id ticking everyone (which would block
their votes) or learn anyone's area or whether they voted without finding them by name first.
"""

from __future__ import annotations

from django.core import signing

#: How long a search result's tick button works, in seconds: long enough to talk to the voter,
#: short enough that a saved page is no list of tickets.
DESK_TOKEN_MAX_AGE = 15 * 60


def _salt(*, round_id: int, user_id: int | None) -> str:
    return f"pb.voting.desk-tick:{round_id}:{user_id}"


def desk_token(*, round_id: int, user_id: int, entry_id: int) -> str:
    """The token for ticking register entry ``entry_id`` in this round, by this user only."""
    return signing.dumps(entry_id, salt=_salt(round_id=round_id, user_id=user_id), compress=False)


def desk_token_entry_id(*, round_id: int, user_id: int | None, token: str) -> int | None:
    """The register entry id ``token`` was signed for, or ``None`` when it is forged, expired,
    or was made for another user or round."""
    try:
        value = signing.loads(
            token, salt=_salt(round_id=round_id, user_id=user_id), max_age=DESK_TOKEN_MAX_AGE
        )
    except signing.BadSignature:  # SignatureExpired is a BadSignature too
        return None
    return value if isinstance(value, int) and not isinstance(value, bool) else None

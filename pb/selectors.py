"""Reads for rounds, areas and proposals. Views and the API call these, never raw queries."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Q, QuerySet

from backend.accounts.models import Actor
from pb import rules as pb_rules
from pb.areas.models import Area
from pb.models import AuditEntry
from pb.rounds.models import Round
from pb.services.register import normalise_name, normalise_postcode
from pb.voting.models import RegisterEntry


def audit_for_round(*, round: Round) -> QuerySet[AuditEntry]:
    return AuditEntry.objects.filter(Q(round=round) | Q(proposal__round=round)).select_related(
        "actor", "proposal", "area"
    )


#: The manual check offers at most this many residents on the register for one account.
REGISTER_CANDIDATES = 5


def register_candidates(*, actor: Actor, profiles: Iterable[Any]) -> dict[int, list[RegisterEntry]]:
    """For each waiting account (a ``Profile``), the residents on the register it may be when
    bulk matching could not tell: linked to no account, in its home area (or the ward around
    it, or a neighbourhood in it), on a register ``actor`` keeps, born the same year, and with
    the same postcode or a word of the name in common (case and spaces ignored); at most
    ``REGISTER_CANDIDATES`` each, by name."""
    waiting = [p for p in profiles if p.birth_year and p.home_area_id]
    if not waiting:
        return {}
    homes = {p.home_area_id for p in waiting}
    near: dict[int, set[int]] = {h: {h} for h in homes}
    for area_id, parent_id in Area.objects.filter(
        Q(pk__in=homes) | Q(parent_id__in=homes)
    ).values_list("pk", "parent_id"):
        if area_id in near and parent_id:
            near[area_id].add(parent_id)
        if parent_id in near:
            near[parent_id].add(area_id)
    pairs = Q()
    for p in waiting:
        pairs |= Q(area_id__in=near[p.home_area_id], birth_year=p.birth_year)
    entries = list(
        RegisterEntry.objects.filter(pairs, profile__isnull=True)
        .select_related("area")
        .order_by("name", "postcode", "pk")
    )
    keeps: dict[int, bool] = {}
    found: dict[int, list[RegisterEntry]] = {}
    for p in waiting:
        words = set(normalise_name(p.user.display_name).split())
        postcode = normalise_postcode(p.postcode or "")
        mine = []
        for e in entries:
            if e.birth_year != p.birth_year or e.area_id not in near[p.home_area_id]:
                continue
            if not (
                (postcode and normalise_postcode(e.postcode) == postcode)
                or words & set(normalise_name(e.name).split())
            ):
                continue
            if e.area_id not in keeps:
                keeps[e.area_id] = pb_rules.can_keep_register(actor, e.area)
            if keeps[e.area_id]:
                mine.append(e)
            if len(mine) == REGISTER_CANDIDATES:
                break
        if mine:
            found[p.pk] = mine
    return found

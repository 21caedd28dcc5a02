"""Reads of stored counts."""

from __future__ import annotations

from pb.models import Round, Tally


def latest_tallies(*, round: Round) -> list[Tally]:
    """The newest tally of each counted scope: areas by name, a decision day's single pot."""
    latest: dict[int | None, Tally] = {}
    for t in Tally.objects.filter(round=round).select_related("area").order_by("created_at", "pk"):
        latest[t.area_id] = t
    return sorted(
        latest.values(), key=lambda t: (t.area is not None, t.area.name if t.area else "")
    )


def tally_rows(tally: Tally) -> list[dict[str, object]]:
    """A tally's projects for a table: funded ones in the order chosen, then the rest by score."""
    rows = [
        {"id": pid, **data, "cost": int(data["cost"])}
        for pid, data in tally.outcome.get("projects", {}).items()
    ]
    rows.sort(key=lambda r: (not r["funded"], r["rank"] or 0, -int(r["score"]), str(r["id"])))
    return rows

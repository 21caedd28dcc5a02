"""The outcome report as people read it: the figures stored when a round is counted, the page's
view model, its charts and its CSV rows, built from ``feedback.selectors`` reads and the
indicator functions (``feedback.indicators``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop, ngettext

from backend.accounts.models import AgeBand, Role
from feedback import definitions
from feedback import indicators as ind
from feedback.models import DeliveryStatus, OutcomeReport
from feedback.selectors import (
    deliberation_report,
    delivery_by_proposal,
    inclusion_report,
    influence_report,
    integrity_report,
    proposal_facts,
)
from pb.counting.models import Tally
from pb.counting.selectors import round_unspent, tally_result
from pb.counting.unspent import Unspent
from pb.counting.wording import project_sentence, second_pass_sentence, stored_sentence
from pb.rounds.models import Round

RULE_SENTENCES: dict[str, Any] = {
    "greedy": gettext_lazy(
        "Projects were taken in order of votes, most first. Each one was funded if its cost "
        "fitted in the money left; if not, it was skipped and the next one was tried."
    ),
    "greedy-threshold": gettext_lazy(
        "Only projects supported by at least {min_share} of voters could win. Those were taken "
        "in order of votes, most first, and funded while the money lasted; a project that did "
        "not fit in the money left was skipped."
    ),
    "mes": gettext_lazy(
        "Method of Equal Shares: the money was shared equally between voters. A project was "
        "funded when its supporters could pay for it together from their shares, the best "
        "value for supporters first. Money left over then went to projects in order of votes."
    ),
    "mes-add1": gettext_lazy(
        "Method of Equal Shares: the money was shared equally between voters, and a project was "
        "funded when its supporters could pay for it together from their shares. The shares "
        "were raised step by step to use as much of the money as possible."
    ),
}

REASON_LABELS: dict[str, str] = {
    "funded": gettext_noop("Funded"),
    "did_not_fit": gettext_noop("Did not fit in the money left"),
    "below_threshold": gettext_noop("Not enough support"),
    "shares_exhausted": gettext_noop("Its supporters' shares ran out"),
    "no_support": gettext_noop("Nobody voted for it"),
    "second_pass": gettext_noop("Funded in the second pass across areas"),
}

# The integrity topics as the stored figures name them, said in the reader's language.
TOPIC_LABELS: dict[str, str] = {
    "rules": gettext_noop("Rules"),
    "budget": gettext_noop("Budget"),
    "eligibility": gettext_noop("Eligibility"),
}

# How a ballot's voter was identified (feedback.indicators.IDENTIFICATION_KINDS), said in the
# reader's language.
IDENTIFICATION_LABELS: dict[str, str] = {
    "account_on_register": gettext_noop("Account matched to the register"),
    "account_checked": gettext_noop("Account checked by a manager, not on the register"),
    "letter_code": gettext_noop("Voter code from a letter to a resident on the register"),
    "desk_ticked": gettext_noop("Ticked on the register at a paper or kiosk desk"),
    "anonymous_code": gettext_noop("Voter code for nobody in particular (handed out at the door)"),
    "paper_untracked": gettext_noop("Paper ballot with no name ticked"),
}

RECOUNT_COMMAND = "python -m pb.tally FILE.pb --rule {rule}"


def rule_sentence(round_: Round) -> str:
    text = RULE_SENTENCES.get(round_.rule, RULE_SENTENCES["greedy"])
    return str(text).format(min_share=ind.format_percent(Fraction(str(round_.min_share))))


def _grouped(number: Any) -> str:
    """A count as the reader's language writes it: 12,345 in English, 12 345 in Polish."""
    return number_format(number, force_grouping=True)


def results_from_tallies(*, round: Round, tallies: Sequence[Tally]) -> list[dict[str, Any]]:
    """Per counted area: its money, voters and every project with votes and the engine's
    explanation, in the count's own order. One query for the proposals, whatever their number.
    """
    counted = [(tally, tally_result(tally)) for tally in tallies]
    unspent = round_unspent(round=round, tallies=list(tallies))
    second_pass = {p.id: p for p in unspent.funded} if unspent else {}
    proposals = proposal_facts(
        ids={int(p.id) for _, result in counted for p in result.projects if p.id.isdigit()}
    )
    areas: list[dict[str, Any]] = []
    for tally, result in counted:
        projects = []
        for p in result.projects:
            known: dict[str, Any] = proposals.get(int(p.id), {}) if p.id.isdigit() else {}
            projects.append(
                {
                    "id": p.id,
                    "title": known.get("title") or p.title,
                    "area": known.get("area__name") or (tally.area.name if tally.area else ""),
                    "theme": known.get("theme__name") or "",
                    "by_resident": known.get("author__role") == Role.RESIDENT,
                    "cost": p.cost,
                    "score": p.score,
                    "funded": p.funded,
                    "rank": p.rank,
                    "reason": p.reason,
                    "reason_label": REASON_LABELS.get(p.reason, ""),
                    "sentence": project_sentence(p),
                    # Stored with the report's figures, so each reader's language can say it.
                    "wording": p.wording.to_json() if p.wording else None,
                }
            )
            extra = second_pass.get(p.id)
            if extra is not None:
                # Left out by its area's count, funded by the pooled leftovers afterwards.
                projects[-1].update(
                    funded=True,
                    reason="second_pass",
                    reason_label=REASON_LABELS["second_pass"],
                    second_pass={
                        "area": extra.area,
                        "supporters": extra.supporters,
                        "voters": extra.voters,
                    },
                    sentence=second_pass_sentence(extra),
                )
        areas.append(
            {
                "area_id": tally.area_id,
                "area": tally.area.name if tally.area else round.name,
                "area_slug": tally.area.slug if tally.area else "",
                "rule": result.rule or tally.rule,
                "vote_type": result.vote_type or round.ballot_type,
                "budget": result.budget,
                "total_cost": result.total_cost,
                "voters": result.voters,
                "winners": list(result.winners),
                "inputs_hash": tally.inputs_hash,
                "counted_at": tally.created_at.isoformat(),
                "projects": projects,
            }
        )
    return areas


def _num(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def report_figures(*, round: Round, tallies: Sequence[Tally]) -> dict[str, Any]:
    """Everything about the round's count that the report shows and that cannot change after
    it: results per area, integrity, inclusion and deliberation (JSON-serialisable)."""
    results = results_from_tallies(round=round, tallies=tallies)
    unspent = round_unspent(round=round, tallies=list(tallies))
    inclusion = inclusion_report(round=round)
    integrity = integrity_report(round=round, tallies=tallies)
    deliberation = deliberation_report(round=round)
    rows = [
        *definitions.integrity_rows(integrity),
        *definitions.inclusion_rows(inclusion),
        *definitions.deliberation_rows(deliberation),
    ]
    area_rows = {
        ra.area_id: ra for ra in round.round_areas.select_related("area").order_by("area__name")
    }
    return {
        "round": {
            "id": round.pk,
            "name": round.name,
            "slug": round.slug,
            "budget": round.budget,
            "currency": round.currency,
            "rule": round.rule,
            "rule_label": round.get_rule_display(),
            "rule_sentence": rule_sentence(round),
            "ballot_type": round.get_ballot_type_display(),
            "style": round.style,
        },
        "areas": [
            {
                "id": area_id,
                "name": ra.area.name,
                "slug": ra.area.slug,
                "population": ra.area.population or None,
                "allocation": ra.allocation,
                "parent_id": ra.area.parent_id,
            }
            for area_id, ra in area_rows.items()
        ],
        "results": results,
        "unspent": unspent.to_json() if unspent else None,
        "integrity": integrity.to_dict(),
        "inclusion": inclusion.to_dict(),
        "deliberation": {
            **deliberation.to_dict(),
        },
        "rows": [list(r) for r in rows],
        "counted_at": max((a["counted_at"] for a in results), default=None),
    }


def report_view_data(*, report: OutcomeReport, area_ids: set[int] | None) -> dict[str, Any]:
    """The report as the HTML, PDF and CSV show it, for a reader who may see ``area_ids``
    (``None``: every area). Round-wide totals stay; area detail is limited to their wards.

    Integrity, inclusion and deliberation come from the stored figures; influence (delivery and
    the survey) is computed now, as it keeps changing after the count.
    """
    from feedback.charts import bar_chart
    from pb.money import format_money

    figures = report.figures or {}
    # Stored in the language of the count; the labels and the rule are said again in the
    # reader's language.
    round_ = report.round
    round_info = {
        **figures["round"],
        "rule_label": round_.get_rule_display(),
        "rule_sentence": rule_sentence(round_),
        "ballot_type": round_.get_ballot_type_display(),
    }
    currency = round_info["currency"]
    influence = influence_report(round=report.round, figures=figures)
    all_results = figures["results"]
    results = [a for a in all_results if area_ids is None or a["area_id"] in area_ids]
    visible_names = {a["name"] for a in figures["areas"] if area_ids is None or a["id"] in area_ids}
    inclusion = figures["inclusion"]
    area_turnout = [a for a in inclusion["areas"] if a["key"] in visible_names]
    funded_ids = [
        int(p["id"]) for a in results for p in a["projects"] if p["funded"] and p["id"].isdigit()
    ]
    delivery = delivery_by_proposal(proposal_ids=funded_ids)
    for area in results:
        for p in area["projects"]:
            p["delivery"] = delivery.get(int(p["id"])) if p["id"].isdigit() else None
            # Stored in English (the msgid); shown in the reader's language.
            p["reason_label"] = _(p["reason_label"]) if p.get("reason_label") else ""
            p["sentence"] = stored_sentence(p)

    total_voters = inclusion["total_voters"]
    total_population = sum(a["population"] or 0 for a in inclusion["areas"]) or 0
    turnout_chart = bar_chart(
        "chart-turnout",
        _("Share of voters and share of population, by area"),
        [
            (
                a["key"],
                [
                    (
                        a["voters"] / total_voters if total_voters else 0,
                        ind.format_percent(ind.ratio(a["voters"], total_voters)) or "n/a",
                    ),
                    (
                        (a["population"] or 0) / total_population if total_population else 0,
                        ind.format_percent(ind.ratio(a["population"] or 0, total_population))
                        or "n/a",
                    ),
                ],
            )
            for a in area_turnout
        ],
        series=(_("Share of voters"), _("Share of population")),
    )
    by_theme: dict[str, int] = defaultdict(int)
    for area in results:
        for p in area["projects"]:
            if p["funded"]:
                by_theme[p["theme"] or _("No theme")] += p["cost"]
    theme_chart = bar_chart(
        "chart-themes",
        _("Money for funded projects, by theme"),
        [
            (theme, [(money, format_money(money, currency))])
            for theme, money in sorted(by_theme.items(), key=lambda kv: -kv[1])
        ],
    )
    projects = sorted((p for a in results for p in a["projects"]), key=lambda p: -_num(p["score"]))
    votes_chart = bar_chart(
        "chart-votes",
        _("Votes per project (the 25 with most votes)")
        if len(projects) > 25
        else _("Votes per project"),
        [
            (
                p["title"],
                [(_num(p["score"]), _grouped(p["score"]) + (" ✓" if p["funded"] else ""))],
            )
            for p in projects[:25]
        ],
    )
    integrity = {
        **figures["integrity"],
        "topics": [
            {**t, "label": _(TOPIC_LABELS.get(t["topic"], t["topic"]))}
            for t in figures["integrity"]["topics"]
        ],
        # Reports stored before these counts existed have none.
        "identification": [
            {**c, "label": _(IDENTIFICATION_LABELS.get(c["kind"], c["kind"]))}
            for c in figures["integrity"].get("identification", [])
        ],
    }
    funded = [p for a in results for p in a["projects"] if p["funded"]]
    not_funded = [p for a in results for p in a["projects"] if not p["funded"]]
    overall = inclusion["overall"]["turnout"]["percent"]
    influence_dict = influence.to_dict()
    n_funded, n_projects = len(influence.funded), len(influence.funded) + len(influence.not_funded)
    if overall:
        voted = ngettext(
            "%(n)s person voted, %(share)s of the people living in the round's areas.",
            "%(n)s people voted, %(share)s of the people living in the round's areas.",
            total_voters,
        ) % {"n": _grouped(total_voters), "share": overall}
    else:
        voted = ngettext("%(n)s person voted.", "%(n)s people voted.", total_voters) % {
            "n": _grouped(total_voters)
        }
    if integrity["published_before_opening"] and integrity["unchanged_after_opening"]:
        rules_line = _(
            "The rules, budget and eligibility were published before voting opened and did not "
            "change after."
        )
    elif integrity["published_before_opening"]:
        rules_line = _(
            "The rules, budget and eligibility were published before voting opened; some "
            "changed after voting opened (see Integrity)."
        )
    elif integrity["unchanged_after_opening"]:
        rules_line = _(
            "Not all of the rules, budget and eligibility were published before voting opened; "
            "none of them changed after."
        )
    else:
        rules_line = _(
            "Not all of the rules, budget and eligibility were published before voting opened; "
            "some changed after voting opened (see Integrity)."
        )
    summary = [
        voted,
        _("Residents decided how %(part)s of %(budget)s was spent (%(percent)s).")
        % {
            "part": format_money(influence.resident_decided.part, currency),
            "budget": format_money(round_info["budget"], currency),
            "percent": influence_dict["resident_decided"]["percent"] or _("n/a"),
        },
        ngettext(
            "%(n)s of %(total)s project will be funded, costing %(money)s in all.",
            "%(n)s of %(total)s projects will be funded, costing %(money)s in all.",
            n_projects,
        )
        % {
            "n": n_funded,
            "total": n_projects,
            "money": format_money(influence.funded_money, currency),
        },
        rules_line,
        (
            ngettext(
                "%(percent)s of the %(n)s resident who answered feels they can influence "
                "decisions affecting their area.",
                "%(percent)s of the %(n)s residents who answered feel they can influence "
                "decisions affecting their area.",
                influence.ni4.base,
            )
            % {
                "percent": influence_dict["ni4"]["agreeing"]["percent"],
                "n": _grouped(influence.ni4.base),
            }
            if influence.ni4.base
            else _("Nobody has answered the influence survey yet.")
        ),
    ]
    unspent = Unspent.from_json(figures["unspent"]) if figures.get("unspent") else None
    unspent_line = _unspent_line(unspent, currency) if unspent is not None else ""
    if unspent_line:
        summary.insert(3, unspent_line)
    if area_ids is not None:
        summary.append(
            _("Area detail is shown for your wards: %(areas)s.")
            % {"areas": ", ".join(sorted(visible_names)) or _("none")}
        )
    return {
        "report": report,
        "figures": figures,
        "round_info": round_info,
        "currency": currency,
        "summary": summary,
        "results": results,
        "funded": funded,
        "not_funded": not_funded,
        "integrity": integrity,
        "inclusion": inclusion,
        "age_bands": [
            {**b, "label": dict(AgeBand.choices).get(b["key"], b["key"])}
            for b in inclusion["age_bands"]
        ],
        "area_turnout": area_turnout,
        "deliberation": figures["deliberation"],
        "influence": influence_dict,
        "status_rows": [(DeliveryStatus(s).label, n) for s, n in influence.status_counts.items()],
        "charts": [turnout_chart, theme_chart, votes_chart],
        "scoped": area_ids is not None,
        "unspent": unspent,
        "recount_command": RECOUNT_COMMAND.format(rule=round_info["rule"]),
    }


def _unspent_line(unspent: Unspent, currency: str) -> str:
    """Where the money the areas left went, in one sentence for the summary."""
    from pb.money import format_money

    if not unspent.pot:
        return ""
    if unspent.policy != "second_pass":
        return _(
            "%(money)s that the areas' counts left unspent is carried to the council's next round."
        ) % {"money": format_money(unspent.pot, currency)}
    n = len(unspent.funded)
    return ngettext(
        "%(pot)s that the areas' counts left unspent went to a second pass across areas, which "
        "funded %(n)s more project (%(spent)s); %(carried)s is carried to the next round.",
        "%(pot)s that the areas' counts left unspent went to a second pass across areas, which "
        "funded %(n)s more projects (%(spent)s); %(carried)s is carried to the next round.",
        n,
    ) % {
        "pot": format_money(unspent.pot, currency),
        "n": n,
        "spent": format_money(unspent.second_pass_spent, currency),
        "carried": format_money(unspent.carried, currency),
    }


def indicator_rows(*, report: OutcomeReport) -> list[tuple[str, str, str]]:
    """Every indicator as (indicator, value, definition): the figures stored with the report,
    then influence as of now (delivery and the survey go on after the count)."""
    figures = report.figures or {}
    influence = influence_report(round=report.round, figures=figures)
    return [
        *(tuple(row) for row in figures.get("rows", [])),
        *definitions.influence_rows(influence),
    ]


def report_csv_rows(*, report: OutcomeReport, area_ids: set[int] | None) -> list[list[str]]:
    """The report as CSV rows: indicators with definitions, then every project."""
    data = report_view_data(report=report, area_ids=area_ids)
    rows: list[list[str]] = [[_("section"), _("indicator"), _("value"), _("definition")]]
    rows += [[_("summary"), "", line, ""] for line in data["summary"]]
    for name, value, definition in indicator_rows(report=report):
        rows.append(["indicator", name, value, definition])
    rows.append(
        [
            _("section"),
            _("project"),
            _("area"),
            _("cost in pence"),
            _("votes"),
            _("funded"),
            _("reason"),
            _("explanation"),
            _("delivery"),
        ]
    )
    for area in data["results"]:
        for p in area["projects"]:
            rows.append(
                [
                    _("project"),
                    p["title"],
                    area["area"],
                    str(p["cost"]),
                    str(p["score"]),
                    _("yes") if p["funded"] else _("no"),
                    p["reason"],
                    p["sentence"],
                    (p.get("delivery") or {}).get(
                        "status", DeliveryStatus.PLANNED if p["funded"] else ""
                    ),
                ]
            )
    if report.commentary:
        rows.append([_("commentary"), _("Manager's commentary"), report.commentary, ""])
    return rows

"""Templates name no status, style or kind by its stored value: they ask the object (a model
property such as ``proposal.awaiting_review``) or compare with the choice itself
(``RoomState.OPEN``, passed in the context), so renaming a value cannot silently turn a branch
off."""

from __future__ import annotations

import re
from pathlib import Path

from django.apps import apps
from django.db import models

ROOT = Path(__file__).resolve().parents[2]
IF_TAG = re.compile(r"{%\s*(?:el)?if\b(.*?)%}", re.S)
QUOTED = re.compile(r"""(["'])(.*?)\1""")


def _our_choices() -> dict[str, str]:
    """Every stored value of every choice list of our models' modules, and where it is from."""
    values: dict[str, str] = {}
    seen: set[type] = set()
    for config in apps.get_app_configs():
        if not config.name.startswith(("pb", "feedback", "deliberation", "backend")):
            continue
        for model in config.get_models():
            module = __import__(model.__module__, fromlist=["*"])
            for thing in vars(module).values():
                if (
                    isinstance(thing, type)
                    and issubclass(thing, models.Choices)
                    and thing not in seen
                    and thing.__module__.startswith(config.name)
                ):
                    seen.add(thing)
                    for value in thing.values:
                        values.setdefault(str(value), thing.__name__)
    return values


def test_our_choice_lists_are_found() -> None:
    # The guard below is only as good as this list: it must see the choices templates use.
    found = set(_our_choices().values())
    assert {"ProposalStatus", "RoundStyle", "BallotType", "RoomState", "StepStatus"} <= found


def test_no_template_compares_with_a_stored_choice_value() -> None:
    choices = _our_choices()
    found = []
    for path in sorted((ROOT / "templates").rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        for tag in IF_TAG.finditer(text):
            for _quote, literal in QUOTED.findall(tag.group(1)):
                if literal in choices:
                    line = text.count("\n", 0, tag.start()) + 1
                    where = f"{path.relative_to(ROOT)}:{line}"
                    found.append(f"{where}: {literal!r} ({choices[literal]})")
    assert not found, "Templates comparing with a stored value:\n" + "\n".join(found)

"""A number of things is said with ngettext, never by hand: "1 answers", "1 people voted" and
"project(s)" were on our pages, and a sentence that is right in English for every number is
still wrong in Welsh, Polish or Urdu, whose plurals change with the number (Polish: 2 punkty,
5 punktów). Django's ``pluralize`` filter is English only.

These read the code as written: a counted noun after a number placed into a gettext (not
ngettext) message, a count printed before a translated plural noun in a template, a
``blocktranslate`` without ``count`` around one, and the hand-made forms all fail."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)
PYTHON_DIRS = ("backend", "pb", "feedback", "deliberation")
SINGULAR_ONLY = {"gettext", "_", "gettext_lazy", "pgettext", "pgettext_lazy", "gettext_noop"}
# Nouns that people count on our pages; a number right before one needs ngettext.
COUNTED = (
    "answers|votes|voters|people|persons|projects|proposals|comments|points|themes|codes|slips"
    "|rows|days|minutes|hours|seconds|characters|bids|residents|ballots|supports|supporters"
    "|options|areas|rooms|results|accounts|papers|letters"
)
NUMBER_THEN_NOUN = re.compile(rf"%\((\w+)\)[sd] (?:\w+ )?(?:{COUNTED})\b")
TEMPLATE_NUMBER_THEN_NOUN = re.compile(
    rf"\{{\{{ *[\w.]+ *\}}\}} (?!(?:by|of|in|for|and|to|from|with) )(?:\w+ )?(?:{COUNTED})\b"
)
BLOCK = re.compile(
    r"\{%\s*blocktrans(?:late)?\b([^%]*)%\}(.*?)\{%\s*endblocktrans(?:late)?\s*%\}", re.S
)
BARE_COUNT_BEFORE_NOUN = re.compile(rf"\}}\}}\s*\{{%\s*translate\s+[\"'](?:{COUNTED})[\"']\s*%\}}")
HAND_MADE = re.compile(r"\(s\)|\|\s*pluralize|\{%\s*if\s+[\w.]+\s*==\s*1\s*%\}")
# Numbers that are not counts of things: a limit in a unit, an age, a place in an order.
NOT_COUNTS = {"kib", "mb", "age", "rank", "percent", "share"}


def _python_files() -> list[Path]:
    files = [p for d in PYTHON_DIRS for p in (ROOT / d).rglob("*.py")]
    return [p for p in files if "migrations" not in p.parts]


def _template_files() -> list[Path]:
    return [p for p in (ROOT / "templates").rglob("*") if p.suffix in {".html", ".txt"}]


def test_no_python_message_counts_things_without_ngettext() -> None:
    files = _python_files()
    assert len(files) > 50  # the walk found the apps
    found = []
    for path in files:
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = getattr(func, "id", None) or getattr(func, "attr", None)
            if name not in SINGULAR_ONLY:
                continue
            for arg in node.args:
                if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
                    continue
                for match in NUMBER_THEN_NOUN.finditer(arg.value):
                    if match.group(1).lower() not in NOT_COUNTS:
                        found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {match.group(0)}")
    assert found == []


def test_no_template_counts_things_without_blocktranslate_count() -> None:
    templates = _template_files()
    assert len(templates) > 50
    found = []
    for path in templates:
        text = path.read_text()
        for block in BLOCK.finditer(text):
            if "count" in block.group(1).split():
                continue
            for match in TEMPLATE_NUMBER_THEN_NOUN.finditer(block.group(2)):
                found.append(f"{path.relative_to(ROOT)}: {match.group(0)}")
        outside = BLOCK.sub("", text)
        found += [f"{path.relative_to(ROOT)}: {m.group(0)}" for m in HAND_MADE.finditer(outside)]
        found += [
            f"{path.relative_to(ROOT)}: {m.group(0)}"
            for m in BARE_COUNT_BEFORE_NOUN.finditer(outside)
        ]
    assert found == []


def test_the_guards_catch_what_we_had() -> None:
    """What the two tests above look for, shown on the lines we fixed."""
    assert NUMBER_THEN_NOUN.search("Rank at most %(len)s themes.")
    assert NUMBER_THEN_NOUN.search("Wait %(minutes)s minutes, then try again")
    assert TEMPLATE_NUMBER_THEN_NOUN.search("{{ score }} points")
    assert BARE_COUNT_BEFORE_NOUN.search('{{ influence.ni4.answers }} {% translate "answers" %}')
    assert HAND_MADE.search("project(s)") and HAND_MADE.search("{{ n|pluralize }}")
    assert not NUMBER_THEN_NOUN.search("Choose %(n)s.")

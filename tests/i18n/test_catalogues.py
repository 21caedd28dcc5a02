"""The translation catalogues are kept complete (issue 16): a catalogue that `make messages`
would change, a string left untranslated or fuzzy in any language, or a template sentence not
marked for translation fails the suite, so a council never shows residents half a language."""

from __future__ import annotations

import gettext
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.template.base import Lexer, TokenType

from tests.conftest import need

ROOT = Path(settings.BASE_DIR)
LOCALES = ["cy", "pl", "ur"]
PLURALS = {"cy": 6, "pl": 3, "ur": 2}
SOURCES = ["backend", "pb", "deliberation", "feedback", "templates", "manage.py"]
HOW_TO_FIX = (
    "run `make messages`, translate the new entries in locale/{cy,pl,ur}/LC_MESSAGES/django.po "
    "(no fuzzy, none empty), then `make messages` again to compile them"
)


def _po(language: str) -> Path:
    return ROOT / "locale" / language / "LC_MESSAGES" / "django.po"


def _without_creation_date(text: str) -> str:
    return re.sub(r'"POT-Creation-Date: [^"]*"\n', "", text)


def test_the_catalogues_are_what_makemessages_makes(tmp_path: Path) -> None:
    need(shutil.which("xgettext") is not None, "GNU gettext (apt-get install gettext)")
    copy = tmp_path / "src"
    copy.mkdir()
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, copy / name)
    shutil.copytree(ROOT / "locale", copy / "locale")
    subprocess.run(
        [
            sys.executable,
            "manage.py",
            "makemessages",
            *[f"-l{lang}" for lang in LOCALES],
            "--no-location",
            "--no-obsolete",
            "-v0",
        ],
        cwd=copy,
        check=True,
        capture_output=True,
        env={"PATH": "/usr/bin:/bin"},
    )
    stale = [
        lang
        for lang in LOCALES
        if _without_creation_date(
            (copy / "locale" / lang / "LC_MESSAGES" / "django.po").read_text()
        )
        != _without_creation_date(_po(lang).read_text())
    ]
    assert stale == [], f"The catalogues of {stale} are out of date: {HOW_TO_FIX}."


@pytest.mark.parametrize("language", LOCALES)
def test_every_string_is_translated_and_none_is_fuzzy(language: str) -> None:
    need(shutil.which("msgfmt") is not None, "GNU gettext (apt-get install gettext)")
    done = subprocess.run(
        ["msgfmt", "--check", "--statistics", "-o", "/dev/null", str(_po(language))],
        capture_output=True,
        text=True,
        env={"LC_ALL": "C", "PATH": "/usr/bin:/bin"},
    )
    # --check also refuses a translation whose %(name)s placeholders differ from the English.
    assert done.returncode == 0, done.stderr
    assert re.fullmatch(r"\d+ translated messages\.\n", done.stderr), (
        f"{language}: {done.stderr.strip()}: {HOW_TO_FIX}."
    )


@pytest.mark.parametrize("language", LOCALES)
def test_plurals_have_the_language_s_own_forms_and_a_review_note(language: str) -> None:
    text = _po(language).read_text()
    assert f"Plural-Forms: nplurals={PLURALS[language]};" in text
    assert "should have them reviewed by a native" in text
    for block in text.split("\n\n"):
        if "msgid_plural" in block:
            assert block.count("msgstr[") == PLURALS[language], block


@pytest.mark.parametrize("language", LOCALES)
def test_the_compiled_catalogue_says_what_the_po_file_says(language: str) -> None:
    """The .mo files are committed (so the site runs without gettext); they must match."""
    need(shutil.which("msgfmt") is not None, "GNU gettext (apt-get install gettext)")
    mo = _po(language).with_suffix(".mo")
    fresh = mo.parent / "fresh.mo.tmp"
    try:
        subprocess.run(["msgfmt", "-o", str(fresh), str(_po(language))], check=True)
        with mo.open("rb") as a, fresh.open("rb") as b:
            committed, compiled = gettext.GNUTranslations(a), gettext.GNUTranslations(b)
    finally:
        fresh.unlink(missing_ok=True)
    assert committed._catalog == compiled._catalog, f"{mo} is stale: {HOW_TO_FIX}."  # type: ignore[attr-defined]


# --- Every template sentence is marked -----------------------------------------------------

# Words that are the same in every language: names, formats, symbols.
SAME_IN_EVERY_LANGUAGE = {
    "Commonpurse",
    "PDF",
    "CSV",
    "API",
    "JSON",
    "OpenStreetMap",
    "Ctrl",
    "P",
    "pb",
    "NI4",
}
ATTRIBUTES_READ_OUT = {"alt", "title", "placeholder", "aria-label", "label"}
MARK = "\x00"


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"script", "style", "code", "pre"}:
            self.skip += 1
        for name, value in attrs:
            if name in ATTRIBUTES_READ_OUT and value:
                self._check(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style", "code", "pre"} and self.skip:
            self.skip -= 1

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self._check(data)

    def _check(self, text: str) -> None:
        words = re.findall(r"[^\W\d_]{2,}", text.replace(MARK, " "))
        left = [w for w in words if w not in SAME_IN_EVERY_LANGUAGE]
        if left:
            self.found.append(" ".join(text.replace(MARK, " ").split()))


def _unmarked(source: str) -> list[str]:
    """Text a reader sees in a template that is not inside a translate tag."""
    out: list[str] = []
    hidden = 0  # inside blocktranslate, comment or verbatim
    for token in Lexer(source).tokenize():
        if token.token_type == TokenType.BLOCK:
            name = token.contents.split()[0] if token.contents else ""
            if name in {"blocktranslate", "blocktrans", "comment", "verbatim"}:
                hidden += 1
            elif name in {"endblocktranslate", "endblocktrans", "endcomment", "endverbatim"}:
                hidden -= 1
            out.append(" ")  # a tag may go on after {% if %}: keep it whole for the parser
        elif token.token_type == TokenType.TEXT and not hidden:
            out.append(token.contents)
        elif token.token_type == TokenType.VAR:
            # A quoted English word in a filter argument ({{ x|default:"none" }}) is text too.
            for literal in re.findall(
                r'\|(?:default|default_if_none|yesno):"([^"]*)"', token.contents
            ):
                if re.search(r"[A-Za-z]{2,}", literal) and "_(" not in token.contents:
                    out.append(f" {literal} ")
            out.append(MARK)
        else:
            out.append(MARK)
    parser = _Text()
    parser.feed("".join(out))
    return parser.found


def test_the_checker_finds_unmarked_text() -> None:
    assert _unmarked("<p>Hello there</p>") == ["Hello there"]
    assert _unmarked('<img alt="A map">') == ["A map"]
    assert _unmarked('{{ x|default:"none yet" }}') == ["none yet"]
    assert _unmarked("<p>{% translate 'Hello' %} {{ name }} · PDF</p>") == []
    assert _unmarked("{% blocktranslate %}Hello {{ n }}{% endblocktranslate %}") == []


def test_every_template_sentence_is_marked_for_translation() -> None:
    found = {
        str(path.relative_to(ROOT)): text
        for path in sorted((ROOT / "templates").rglob("*.html"))
        if (text := _unmarked(path.read_text()))
    }
    assert found == {}, "Wrap these in {% translate %} or {% blocktranslate %}, then " + HOW_TO_FIX

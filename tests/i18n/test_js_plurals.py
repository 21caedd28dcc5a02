"""A live room's script counts answers and people in the reader's language: the page gives it
each plural category's words (backend.plurals), where it used to add "answers" to any number
("1 answers", "1 people here")."""

from __future__ import annotations

from django.utils import translation

from backend.plurals import plural_forms


def answers(n: int) -> str:
    return translation.ngettext("%(n)s answer", "%(n)s answers", n)


def test_english_has_one_and_other() -> None:
    with translation.override("en-gb"):
        assert plural_forms(answers) == {
            "one": "{n} answer",
            "other": "{n} answers",
        }


def test_polish_has_its_own_categories_from_the_catalogue() -> None:
    with translation.override("pl"):
        forms = plural_forms(answers)
        assert set(forms) == {"one", "few", "many"}  # "other" is for fractions only
        # Polish says 1 answer and 5 answers differently (translated in the catalogue).
        assert forms["one"] == translation.ngettext("%(n)s answer", "%(n)s answers", 1) % {
            "n": "{n}"
        }
        assert forms["one"] != forms["many"] and not any("answer" in f for f in forms.values())


def test_the_room_page_gives_the_script_the_forms() -> None:
    from deliberation.views import _labels

    with translation.override("en-gb"):
        labels = _labels()
    assert labels["answers"]["one"] == "{n} answer"
    assert labels["people_here"] == {"one": "{n} person here", "other": "{n} people here"}

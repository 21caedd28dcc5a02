"""Every label and hint a form shows is marked for translation, so a Welsh, Polish or Urdu
reader never meets an English question in the middle of their page (the influence survey asked
its three questions in English on every page until this test), and the split's refusals reach a
manager in their language."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest
from django import forms
from django.conf import settings
from django.utils import translation
from django.utils.functional import Promise

from pb.split import services as budget_split

APPS = ("backend", "pb", "feedback", "deliberation")


def _form_classes() -> list[type[forms.BaseForm]]:
    found: dict[str, type[forms.BaseForm]] = {}
    for app in APPS:
        package = importlib.import_module(app)
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{app}."):
            if not info.name.endswith("forms"):
                continue
            module = importlib.import_module(info.name)
            for _, cls in inspect.getmembers(module, inspect.isclass):
                if issubclass(cls, forms.BaseForm) and cls.__module__ == module.__name__:
                    found[f"{cls.__module__}.{cls.__name__}"] = cls
    return list(found.values())


def test_every_form_label_and_hint_is_marked_for_translation() -> None:
    classes = _form_classes()
    assert len(classes) > 10  # the walk found the project's forms
    unmarked = []
    for cls in classes:
        for name, field in cls.base_fields.items():
            for attr in ("label", "help_text"):
                text = getattr(field, attr)
                if text and not isinstance(text, Promise):
                    unmarked.append(f"{cls.__name__}.{name}.{attr}: {text!r}")
            if isinstance(field, forms.ModelChoiceField):
                continue  # its choices are rows of the database, named by their authors
            for value, label in getattr(field, "choices", None) or []:
                if (value, label) in settings.LANGUAGES:
                    continue  # each language is named in itself, never translated
                words = isinstance(label, str) and any(c.isalpha() for c in label)
                if words and not isinstance(label, Promise) and value != "":
                    unmarked.append(f"{cls.__name__}.{name} choice {value!r}: {label!r}")
    assert unmarked == []


def test_the_influence_survey_asks_in_welsh() -> None:
    from feedback.forms import SurveyForm

    with translation.override("cy"):
        form = SurveyForm()
        labels = [str(f.label) for f in form]
    assert labels[1] == "Pa mor fodlon ydych chi gyda sut cafodd y rownd hon ei chynnal?"
    assert "Unrhyw beth arall rydych chi am ei ddweud wrthym ni?" in labels


def test_a_split_refusal_reaches_the_manager_in_polish() -> None:
    from pb.split import formula as split

    with pytest.raises(split.SplitError) as caught:
        split.criteria_from_config(
            [{"key": "population", "label": "Population", "weight": "-2", "bands": []}]
        )
    # The English sentence is unchanged for the engine's users and tests...
    assert str(caught.value) == "The weight of Population cannot be negative (it is -2)."
    # ...and the site says it in the reader's language, criterion name included.
    with translation.override("pl"):
        said = budget_split._split_said(caught.value)
    assert said == "Waga kryterium Mieszkańcy nie może być ujemna (jest -2)."

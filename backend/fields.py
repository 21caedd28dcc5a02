"""Form fields shared by the apps' forms (no app imported: accounts and pb both use them)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django import forms
from django.forms.models import ModelChoiceIterator
from django.utils.translation import gettext as _


class AreaTreeIterator(ModelChoiceIterator):
    """Areas as the tree they are: a ward with neighbourhoods becomes a group holding them and
    "elsewhere in" the ward itself; a ward without any is a plain choice. One query."""

    def __iter__(self) -> Iterator[Any]:
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        areas = list(self.queryset.select_related("parent"))
        present = {a.pk for a in areas}
        children: dict[int, list[Any]] = {}
        for area in areas:
            if area.parent_id in present:
                children.setdefault(area.parent_id, []).append(area)
        for area in areas:
            if area.parent_id in present:
                continue  # listed in its ward's group
            kids = children.get(area.pk)
            if not kids:
                yield self.choice(area)
                continue
            yield (area.name, [*(self.choice(k) for k in kids), self.ward_choice(area)])

    def ward_choice(self, ward: Any) -> tuple[Any, str]:
        """The ward itself, inside its own group: for a resident's home, the rest of the ward."""
        return (self.choice(ward)[0], _("Elsewhere in %(ward)s") % {"ward": ward.name})


class AreaTreeManyIterator(AreaTreeIterator):
    """The tree for ticking several areas: the ward is a choice of its own, under its name."""

    def ward_choice(self, ward: Any) -> tuple[Any, str]:
        return self.choice(ward)


class AreaTreeChoiceField(forms.ModelChoiceField):
    """Pick one area from the ward-then-neighbourhood tree (a select with a group per ward)."""

    iterator = AreaTreeIterator


class AreaTreeMultipleChoiceField(forms.ModelMultipleChoiceField):
    """Tick several areas from the ward-then-neighbourhood tree (checkboxes grouped per ward)."""

    iterator = AreaTreeManyIterator

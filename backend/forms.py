"""Form helpers shared by every app's views."""

from __future__ import annotations

from django import forms

from backend.errors import DomainError


def add_domain_error(form: forms.BaseForm, exc: DomainError) -> None:
    """Show a service's refusal on the form: on its fields when it names them, else on top."""
    placed = False
    for field, messages in exc.fields.items():
        target = field if field in form.fields else None
        for message in messages:
            form.add_error(target, message)
            placed = True
    if not placed:
        form.add_error(None, exc.message)

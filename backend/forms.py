"""Form helpers shared by every app's views."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from backend.errors import DomainError


def render_form(
    request: HttpRequest, template: str, context: dict[str, Any], form: Any = None
) -> HttpResponse:
    """Render a page with a form: 400 when the form was sent and has errors, else 200."""
    status = 400 if form is not None and form.is_bound and form.errors else 200
    return render(request, template, context, status=status)


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

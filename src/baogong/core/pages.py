"""How pages turn domain errors into responses.

Views call selectors and services that raise `core.errors.ApplicationError`;
`page_view` renders any that escape as the error page with the error's own
status, so an object outside the caller's scope answers 404 exactly like one
that does not exist. Forms catch `ValidationFailed` themselves (see
`form_error_add`) to show the message next to the field it names.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .errors import ApplicationError


def error_page_render(request: HttpRequest, error: ApplicationError) -> HttpResponse:
    return render(request, "core/error.html", {"error": error}, status=error.status)


def page_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Require a signed-in account and render domain errors as the error page."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except ApplicationError as error:
            return error_page_render(request, error)

    return login_required(wrapped)


def form_error_add(form: forms.Form, error: ApplicationError) -> None:
    """Attach a service error to the form field it names (or to the form as a whole)."""
    field = error.field if error.field in form.fields else None
    form.add_error(field, str(error.message))

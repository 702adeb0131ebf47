"""Request ids for audit rows and log lines, and the Content-Security-Policy header built once."""

from __future__ import annotations

import contextvars
import functools
import http
import re
import uuid
from collections.abc import Callable
from typing import Any

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject, CSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
# Only accept a client-supplied id that cannot smuggle anything into logs.
_SAFE_ID = re.compile(r"^[A-Za-z0-9\-]{8,64}$")


def current_request_id() -> str | None:
    return _request_id.get()


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        supplied = request.headers.get("X-Request-Id", "")
        request_id = supplied if _SAFE_ID.match(supplied) else uuid.uuid4().hex
        token = _request_id.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            _request_id.reset(token)
        response["X-Request-Id"] = request_id
        return response


# What a view can set on its response to change its policy (django-csp's decorators).
_PER_RESPONSE_POLICY = (
    "_csp_config",
    "_csp_update",
    "_csp_replace",
    "_csp_config_ro",
    "_csp_update_ro",
    "_csp_replace_ro",
)
_CSP_SETTINGS = frozenset({"CONTENT_SECURITY_POLICY", "CONTENT_SECURITY_POLICY_REPORT_ONLY"})


@functools.cache
def _settings_policies() -> tuple[tuple[str, str, str, tuple[str, ...]], ...]:
    """(header, policy text, response attribute exempting from it, path prefixes excluded from it) per header."""
    found = []
    for header, setting, exempt, report_only in (
        (HEADER, "CONTENT_SECURITY_POLICY", "_csp_exempt", False),
        (HEADER_REPORT_ONLY, "CONTENT_SECURITY_POLICY_REPORT_ONLY", "_csp_exempt_ro", True),
    ):
        policy = build_policy(report_only=report_only)
        if policy:
            prefixes = tuple((getattr(settings, setting, None) or {}).get("EXCLUDE_URL_PREFIXES", None) or ())
            found.append((header, policy, exempt, prefixes))
    return tuple(found)


@receiver(setting_changed)
def _forget_settings_policies(*, setting: str, **_kwargs: Any) -> None:
    if setting in _CSP_SETTINGS:
        _settings_policies.cache_clear()


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware, writing the settings' policy from text built once.

    django-csp builds the header's text anew for every response; no page here
    uses a nonce or a per-view policy, so the text is the same every time, and
    building it was the costliest middleware of an order request. A response
    that does use a nonce or a per-view policy goes through django-csp as it is.
    """

    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if getattr(request, "_csp_nonce", None) is not None or any(
            hasattr(response, name) for name in _PER_RESPONSE_POLICY
        ):
            return super().process_response(request, response)
        # As django-csp: Django's debug pages for 404 and 500 carry no policy.
        if settings.DEBUG and response.status_code in (
            http.HTTPStatus.NOT_FOUND,
            http.HTTPStatus.INTERNAL_SERVER_ERROR,
        ):
            return response
        for header, policy, exempt, prefixes in _settings_policies():
            if (
                header not in response
                and getattr(response, exempt, False) is False
                and not request.path_info.startswith(prefixes)
            ):
                response[header] = policy
        # As django-csp: a nonce asked for after the header is written could not be in it.
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)  # type: ignore[attr-defined]
        return response

"""The Content-Security-Policy middleware writes what django-csp's own would, from text built once."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from csp.exceptions import CSPNonceError
from csp.middleware import CSPMiddleware
from django.http import HttpResponse, HttpResponseNotFound
from django.test import RequestFactory, override_settings

from baogong.core.middleware import _PER_RESPONSE_POLICY, ContentSecurityPolicyMiddleware, _settings_policies

HEADERS = ("Content-Security-Policy", "Content-Security-Policy-Report-Only")
NONE = {"default-src": ["'none'"]}
REPORT_ONLY = {"DIRECTIVES": {"default-src": ["'self'"], "report-uri": "/csp-reports"}}


def answer(middleware_class, path="/api/me", *, attributes=None, use_nonce=False, status=200):
    def view(request):
        response = (HttpResponseNotFound if status == 404 else HttpResponse)("body")
        for name, value in (attributes or {}).items():
            setattr(response, name, value)
        if use_nonce:
            response.nonce = str(request.csp_nonce)
        return response

    request = RequestFactory().get(path)
    response = middleware_class(view)(request)
    nonce = getattr(response, "nonce", None)
    # django-csp orders the directives as a set iterates (it differs between processes): compare them as sets.
    written = {
        header: policy(response[header].replace(nonce, "NONCE") if nonce else response[header])
        for header in HEADERS
        if header in response
    }
    return request, written


def policy(text):
    return frozenset(text.split("; "))


CASES = {
    "plain": {},
    "update": {"attributes": {"_csp_update": {"img-src": ["https://tiles.example"]}}},
    "replace": {"attributes": {"_csp_replace": {"script-src": ["'self'", "https://cdn.example"]}}},
    "config": {"attributes": {"_csp_config": {"default-src": ["'none'"]}}},
    "exempt": {"attributes": {"_csp_exempt": True}},
    "exempt, not True": {"attributes": {"_csp_exempt": None}},
    "report-only exempt": {"attributes": {"_csp_exempt_ro": True}},
    "report-only update": {"attributes": {"_csp_update_ro": {"img-src": ["https://tiles.example"]}}},
    "report-only config": {"attributes": {"_csp_config_ro": {"default-src": ["'none'"]}}},
    "excluded path": {"path": "/static/app.css"},
    "nonce": {"use_nonce": True},
    "not found": {"status": 404},
}


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"CONTENT_SECURITY_POLICY_REPORT_ONLY": REPORT_ONLY},
        {"DEBUG": True},
        {
            "CONTENT_SECURITY_POLICY": {
                "EXCLUDE_URL_PREFIXES": ["/static/"],
                "DIRECTIVES": {"default-src": ["'none'"]},
            },
            "CONTENT_SECURITY_POLICY_REPORT_ONLY": {**REPORT_ONLY, "EXCLUDE_URL_PREFIXES": ["/api/"]},
        },
    ],
    ids=["settings", "report-only", "debug", "excluded prefixes"],
)
def test_writes_what_django_csp_writes(case, overrides):
    with override_settings(**overrides):
        _, ours = answer(ContentSecurityPolicyMiddleware, **CASES[case])
        _, theirs = answer(CSPMiddleware, **CASES[case])

    assert ours == theirs


def test_the_settings_policy_is_written_and_follows_a_settings_change():
    _, before = answer(ContentSecurityPolicyMiddleware)
    with override_settings(
        CONTENT_SECURITY_POLICY={"EXCLUDE_URL_PREFIXES": ["/api/"], "DIRECTIVES": {"default-src": ["'none'"]}},
        CONTENT_SECURITY_POLICY_REPORT_ONLY=REPORT_ONLY,
    ):
        _, excluded = answer(ContentSecurityPolicyMiddleware, "/api/me")
        _, page = answer(ContentSecurityPolicyMiddleware, "/orders/")
    _, after = answer(ContentSecurityPolicyMiddleware)

    assert before == after
    assert before == {
        "Content-Security-Policy": policy(
            "default-src 'self'; connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; "
            "img-src 'self' data:; object-src 'none'; script-src 'self'; style-src 'self'; base-uri 'none'"
        )
    }
    assert excluded == {"Content-Security-Policy-Report-Only": policy("default-src 'self'; report-uri /csp-reports")}
    assert page == {
        "Content-Security-Policy": policy("default-src 'none'"),
        "Content-Security-Policy-Report-Only": policy("default-src 'self'; report-uri /csp-reports"),
    }
    assert _settings_policies.cache_info().currsize == 1


def test_a_nonce_asked_for_after_the_header_is_written_fails():
    request, _ = answer(ContentSecurityPolicyMiddleware)

    with pytest.raises(CSPNonceError):
        str(request.csp_nonce)


def test_every_per_view_policy_of_django_csp_goes_through_django_csp():
    # A view's decorator sets one of these on its response; one the middleware did not know of
    # would be ignored in favour of the settings' policy.
    import csp.decorators

    source = Path(csp.decorators.__file__).read_text()
    set_by_decorators = set(re.findall(r'setattr\(resp, "(_csp_\w+)"', source))

    assert set_by_decorators - {"_csp_exempt", "_csp_exempt_ro"} == set(_PER_RESPONSE_POLICY)


@pytest.mark.parametrize("case", ["plain", "exempt", "report-only exempt", "excluded path"])
def test_which_responses_carry_the_settings_policy(case):
    with override_settings(CONTENT_SECURITY_POLICY_REPORT_ONLY=REPORT_ONLY):
        _, written = answer(ContentSecurityPolicyMiddleware, **CASES[case])

    assert (
        sorted(written)
        == {
            "plain": ["Content-Security-Policy", "Content-Security-Policy-Report-Only"],
            "exempt": ["Content-Security-Policy-Report-Only"],
            "report-only exempt": ["Content-Security-Policy"],
            "excluded path": ["Content-Security-Policy", "Content-Security-Policy-Report-Only"],
        }[case]
    )

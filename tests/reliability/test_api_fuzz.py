"""R14 api-fuzz: schemathesis against the whole JSON API as two signed-in roles, fixed seed.

The schema is read from the running application's /api/openapi.json (WSGI,
in process, on the test database) and every operation gets generated
requests, valid and invalid, as a resident and as a community worker (session
cookie plus CSRF token, as the web client sends them). Each answer is checked
for: no server error, a status code the document declares for the operation,
a body matching the declared schema, the declared content type.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, given, seed, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from baogong.orders.tests.factories import NOW, build_ordering_world

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

SEED = 20260808
# Per operation, role and mode: 13 x 2 roles x 2 modes = 52 generated requests per operation, the plan's 50.
EXAMPLES = 13
CSRF = "0123456789abcdef0123456789abcdef"
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance, content_type_conformance]


@pytest.fixture
def keep_connection():
    """Keep the test's database connection open across requests, as Django's test client does.

    The WSGI handler closes the connection at the end of every request; inside the test's
    transaction that would close it under the test on PostgreSQL.
    """
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


def session_of(account: Any) -> str:
    client = Client()
    client.force_login(account)
    return client.cookies["sessionid"].value


def test_r14_schemathesis_finds_no_server_error_or_contract_breach(keep_connection, monkeypatch, record_property):
    monkeypatch.setattr("django.utils.timezone.now", lambda: NOW)
    ow = build_ordering_world()
    roles = {"resident": session_of(ow.resident), "community": session_of(ow.community)}
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", get_wsgi_application())
    operations = [result.ok() for result in schema.get_all_operations()]
    calls: Counter[str] = Counter()
    statuses: Counter[int] = Counter()
    failures: dict[str, str] = {}

    def fuzz(operation: Any, role: str, session: str, mode: GenerationMode) -> None:
        @seed(SEED)
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def run(case: Any) -> None:
            response = case.call(headers={"X-CSRFToken": CSRF}, cookies={"sessionid": session, "csrftoken": CSRF})
            calls[role] += 1
            statuses[response.status_code] += 1
            try:
                case.validate_response(response, checks=CHECKS)
            except (Exception, BaseExceptionGroup) as error:  # every failure is collected, the run goes on
                label = f"{operation.method.upper()} {operation.path} as {role} ({mode.value})"
                failures.setdefault(label, " ".join(str(error).split())[:400])

        run()

    for operation in operations:
        for role, session in roles.items():
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                fuzz(operation, role, session, mode)

    server_errors = sum(n for status, n in statuses.items() if status >= 500)
    record_property(
        "figure",
        f"R14: {len(operations)} operations x 2 roles x 2 modes, {sum(calls.values())} generated requests "
        f"(seed {SEED}, {EXAMPLES} examples each): {server_errors} 5xx; {len(failures)} operations "
        f"with a schema, status-code or content-type breach; status codes seen {sorted(statuses)}",
    )
    for label, message in sorted(failures.items()):
        print(f"{label}: {message}")
    assert failures == {}

"""The OpenAPI document is public, complete, and describes every status an endpoint answers."""

import pytest

pytestmark = pytest.mark.django_db

READS = {
    "/api/regions": {"200", "401", "422"},
    "/api/regions/{region_id}": {"200", "401", "404", "422"},
    "/api/regions/{region_id}/zone-statuses": {"200", "401", "404", "422"},
    "/api/households": {"200", "401", "404", "422"},
    "/api/households/{household_id}": {"200", "401", "404", "422"},
    "/api/stock/points": {"200", "401", "422"},
    "/api/stock/points/{point_id}": {"200", "401", "404", "422"},
    "/api/stock/points/{point_id}/balances": {"200", "401", "404", "422"},
    "/api/stock/points/{point_id}/movements": {"200", "401", "404", "422"},
    "/api/me": {"200", "401"},
}


@pytest.fixture
def document(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    return response.json()


def test_document_lists_every_read_with_its_statuses(document):
    statuses = {path: set(ops["get"]["responses"]) for path, ops in document["paths"].items() if "get" in ops}

    assert {path: statuses.get(path) for path in READS} == READS


def test_every_operation_requires_the_session(document):
    operations = [op for ops in document["paths"].values() for op in ops.values()]

    assert {str(op.get("security")) for op in operations} == {"[{'SessionAuth': []}]"}


def test_errors_share_one_schema(document):
    refs = {
        response["content"]["application/json"]["schema"]["$ref"]
        for operations in document["paths"].values()
        for operation in operations.values()
        for status, response in operation["responses"].items()
        if status not in {"200", "201"}
    }

    assert refs == {"#/components/schemas/ErrorOut"}
    assert set(document["components"]["schemas"]["ErrorOut"]["required"]) == {"code", "message"}


def test_lists_bound_the_page_size(document):
    parameters = {p["name"]: p for p in document["paths"]["/api/households"]["get"]["parameters"]}

    assert (parameters["limit"]["schema"]["minimum"], parameters["limit"]["schema"]["maximum"]) == (1, 200)


def test_docs_page_is_served(client):
    response = client.get("/api/docs")

    assert response.status_code == 200
    assert b"/api/openapi.json" in response.content

"""Root pytest configuration: the database under test comes from DATABASE_URL."""

import pytest
from django.db import connection


def pytest_collection_modifyitems(config, items):
    # Tests marked `postgres` need row locks and real concurrent writers.
    for item in items:
        if "postgres" in item.keywords and connection.vendor != "postgresql":
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL)"))

"""Migration 0003 drops the single-column foreign-key indexes that another index of the table leads with."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.db import connection

pytestmark = pytest.mark.django_db

dropping = importlib.import_module("baogong.orders.migrations.0003_drop_indexes_led_by_another")


def indexes_on(model_name: str, field_name: str) -> tuple[list[str], list[list[str]]]:
    """(single-column plain indexes on the field, column lists of every index or unique constraint leading with it)."""
    model = apps.get_model("orders", model_name)
    column = model._meta.get_field(field_name).column
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, model._meta.db_table)
    single = dropping.single_column_indexes(connection, model, column)
    leading = sorted(
        found["columns"]
        for found in constraints.values()
        if (found["index"] or found["unique"]) and found["columns"][:1] == [column] and len(found["columns"]) > 1
    )
    return single, leading


def test_each_dropped_index_is_led_by_another_and_gone():
    for model_name, field_name in dropping.FIELDS:
        single, leading = indexes_on(model_name, field_name)
        assert single == [], (model_name, field_name)
        assert leading, (model_name, field_name)


# Outside a test transaction: SQLite's schema editor cannot run inside one.
@pytest.mark.django_db(transaction=True)
def test_rolling_back_restores_the_indexes_and_migrating_drops_them_again():
    with connection.schema_editor(atomic=False) as editor:
        dropping.restore_indexes(apps, editor)
    restored = {fields: indexes_on(*fields)[0] for fields in dropping.FIELDS}
    with connection.schema_editor(atomic=False) as editor:
        dropping.drop_indexes(apps, editor)

    # Under Django's own names for a foreign key's index, as a database built at 0002 has them.
    assert restored[("order", "household")][0].startswith("orders_order_household_id_")
    assert restored[("orderline", "order")][0].startswith("orders_orderline_order_id_")
    assert all(len(names) == 1 for names in restored.values()), restored
    assert {fields: indexes_on(*fields)[0] for fields in dropping.FIELDS} == {fields: [] for fields in dropping.FIELDS}

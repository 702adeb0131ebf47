"""Drop the single-column indexes of foreign keys that lead another index of their table.

Each was one more index to write with every order in the 06:00 rush, and the
index that leads with the same column serves every lookup it served. Only
the indexes go: the foreign keys stay, so this rewrites no table on SQLite
and re-checks no constraint on PostgreSQL, as altering the fields would. On
PostgreSQL each is dropped CONCURRENTLY, outside a transaction, so orders
keep being written while it runs. A rollback creates them again under the
names Django gave them.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# (model, field): each field leads a unique constraint or an index of its model.
FIELDS = [
    ("householdquota", "household"),
    ("idempotencykey", "user"),
    ("order", "compound"),
    ("order", "household"),
    ("order", "supermarket"),
    ("orderline", "order"),
]


def single_column_indexes(connection, model, column):
    """Names of the plain (not unique, not primary) indexes on `column` alone."""
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, model._meta.db_table)
    return sorted(
        name
        for name, found in constraints.items()
        if found["index"] and not found["unique"] and not found["primary_key"] and found["columns"] == [column]
    )


def drop_indexes(apps, schema_editor):
    quote = schema_editor.quote_name
    concurrently = schema_editor.connection.vendor == "postgresql"
    for model_name, field_name in FIELDS:
        model = apps.get_model("orders", model_name)
        for name in single_column_indexes(schema_editor.connection, model, model._meta.get_field(field_name).column):
            if concurrently:
                schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {quote(name)}")
            else:
                schema_editor.execute(
                    schema_editor.sql_delete_index % {"table": quote(model._meta.db_table), "name": quote(name)}
                )


def restore_indexes(apps, schema_editor):
    for model_name, field_name in FIELDS:
        model = apps.get_model("orders", model_name)
        field = model._meta.get_field(field_name)
        if not single_column_indexes(schema_editor.connection, model, field.column):
            # The statement and name Django uses for a foreign key's own index.
            schema_editor.execute(schema_editor._create_index_sql(model, fields=[field]))


class Migration(migrations.Migration):
    # DROP INDEX CONCURRENTLY cannot run inside a transaction.
    atomic = False

    dependencies = [
        ("enterprises", "0001_initial"),
        ("orders", "0002_window_time_defaults_as_functions"),
        ("regions", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(drop_indexes, restore_indexes)],
            state_operations=[
                migrations.AlterField(
                    model_name="householdquota",
                    name="household",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="regions.household",
                    ),
                ),
                migrations.AlterField(
                    model_name="idempotencykey",
                    name="user",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                migrations.AlterField(
                    model_name="order",
                    name="compound",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="regions.region",
                    ),
                ),
                migrations.AlterField(
                    model_name="order",
                    name="household",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="orders",
                        to="regions.household",
                        verbose_name="household",
                    ),
                ),
                migrations.AlterField(
                    model_name="order",
                    name="supermarket",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="orders",
                        to="enterprises.organisation",
                        verbose_name="supermarket",
                    ),
                ),
                migrations.AlterField(
                    model_name="orderline",
                    name="order",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="lines",
                        to="orders.order",
                    ),
                ),
            ],
        )
    ]

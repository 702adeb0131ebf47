"""One vehicle, one pass: no two active passes of a vehicle overlap in time (PostgreSQL).

An exclusion constraint has no SQLite counterpart, so it is written here for
PostgreSQL only and not declared on the model; `pass_issue` enforces the same
rule under a row lock on the vehicle on every database. btree_gist is a
trusted extension, so the database owner may create it.
"""

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

CONSTRAINT = "green_pass_one_active_per_vehicle"


def forwards(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    schema_editor.execute(
        f"ALTER TABLE delivery_greenpass ADD CONSTRAINT {CONSTRAINT} EXCLUDE USING gist "
        "(vehicle_id WITH =, tstzrange(valid_from, valid_until) WITH &&) WHERE (status = 'active')"
    )


def backwards(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"ALTER TABLE delivery_greenpass DROP CONSTRAINT IF EXISTS {CONSTRAINT}")


class Migration(migrations.Migration):
    dependencies = [("delivery", "0002_drivers_passes_checks")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]

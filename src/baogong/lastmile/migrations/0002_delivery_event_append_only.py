from django.db import migrations

from baogong.core.append_only import AppendOnly


class Migration(migrations.Migration):
    """What happened at each door is evidence (who delivered, when): never edited, never deleted."""

    dependencies = [("lastmile", "0001_initial")]
    operations = [AppendOnly("lastmile_deliveryevent")]

from django.db import migrations

from baogong.core.append_only import AppendOnly


class Migration(migrations.Migration):
    """The checkpoint log is evidence: who was let through, who was stopped and why."""

    dependencies = [("delivery", "0003_green_pass_no_overlap")]
    operations = [AppendOnly("delivery_passcheck")]

from django.db import migrations, models


def parts_read_their_plans_runs(apps, schema_editor):
    """Parts created before this migration read every run of their plan, as they did then."""
    DayPlan = apps.get_model("planning", "DayPlan")
    DayPlanPart = apps.get_model("planning", "DayPlanPart")
    for plan_id, runs in DayPlan.objects.values_list("pk", "allocation_runs").iterator():
        if runs:
            DayPlanPart.objects.filter(plan_id=plan_id).update(run_ids=runs)


class Migration(migrations.Migration):
    dependencies = [
        ("planning", "0004_allocation_fan_out"),
    ]

    operations = [
        migrations.AddField(
            model_name="dayplanallocation",
            name="compound_kg",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name="dayplanpart",
            name="run_ids",
            field=models.JSONField(default=list),
        ),
        migrations.RunPython(parts_read_their_plans_runs, migrations.RunPython.noop),
    ]

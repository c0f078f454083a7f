"""The demo's scheduled report: a cron schedule of ``activity_report``, every 5 minutes, as a
project would ship a schedule its code relies on (the admin may then edit or disable it)."""

from django.db import migrations

NAME = "Activity report (every 5 minutes)"


def add_schedule(apps, schema_editor):
    ScheduledTask = apps.get_model("flowrra_django", "ScheduledTask")
    ScheduledTask.objects.get_or_create(
        name=NAME,
        defaults={
            "task_name": "example_project.shop.tasks.activity_report",
            "schedule_type": "cron",
            "schedule": "*/5 * * * *",
            "kwargs": {"hours": 1},
            "description": "Tasks submitted in the last hour, per status and per task.",
        },
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("flowrra_django", "ScheduledTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("flowrra_django", "0003_dashboard_indexes")]
    operations = [migrations.RunPython(add_schedule, remove_schedule)]

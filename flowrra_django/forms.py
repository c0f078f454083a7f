"""Forms: the scheduled task form used by the admin (and any dashboard)."""

from __future__ import annotations

from typing import Any

from django import forms

from .models import ScheduledTask
from .runtime import get_app

#: The options a schedule leaves to the task unless they are set on purpose.
TASK_OPTIONS = ("queue", "priority", "max_retries", "retry_delay")


class ScheduledTaskForm(forms.ModelForm):
    """Offers the registered task names; everything else is checked by
    :meth:`ScheduledTask.clean`, so a bad schedule, task name or argument list is a field
    error and nothing is saved. The task options start empty: the task's own settings."""

    class Meta:
        model = ScheduledTask
        fields = "__all__"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        names = [spec.name for spec in get_app().registry]
        current = self.initial.get("task_name")
        if current and current not in names:
            names.append(current)
        self.fields["task_name"].widget = forms.Select(
            choices=[("", "---------"), *((name, name) for name in names)]
        )
        for name in TASK_OPTIONS:
            self.fields[name].widget.attrs["placeholder"] = "task's default"

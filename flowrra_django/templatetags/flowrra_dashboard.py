"""The dashboard's table of tasks for a project's own pages (the demo's shop page includes
``flowrra_django/_task_rows.html``): the same markup as the dashboard's, from its Jinja2
template."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from flowrra.ui.web.rendering import render

register = template.Library()


@register.simple_tag(takes_context=True)
def task_rows(context: template.Context, tasks: Any, empty_text: str = "") -> SafeString:
    """``tasks`` (results or ``TaskResult`` rows) as the dashboard shows them; the page's
    ``urls`` (``tasks`` and ``workers`` prefixes) make the links."""
    data = {"tasks": tasks, "empty_text": empty_text, "urls": context.get("urls", {})}
    html = render(timezone.get_current_timezone(), "flowrra/_task_rows.html", data)
    return mark_safe(html.decode())  # rendered by the autoescaping environment

"""Template filters of the dashboard: times in the active zone with relative times,
durations, status badges, and query strings for filter links."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from django import template
from django.http import QueryDict
from django.utils import timezone
from django.utils.safestring import mark_safe

from flowrra.ui import Formatter, mask_urls
from flowrra.ui.formatter import as_datetime, badge_html, time_html, wall_time

register = template.Library()


@register.filter
def when(value: Any) -> str:
    """A time in the active zone with how long ago (or how soon) it is."""
    moment = as_datetime(value)
    if moment is None:
        return "-"
    return mark_safe(time_html(moment, timezone.localtime(moment)))  # built escaped


@register.filter
def ago(value: Any) -> str:
    """Only the relative part: ``3 s ago``, ``in 5 min``."""
    moment = as_datetime(value)
    if moment is None:
        return "-"
    return mark_safe(time_html(moment, timezone.localtime(moment), relative_only=True))


@register.filter
def local_time(value: Any, fmt: str = "%Y-%m-%d %H:%M:%S %Z") -> str:
    moment = as_datetime(value)
    return "-" if moment is None else timezone.localtime(moment).strftime(fmt)


@register.filter
def duration(seconds: Any) -> str:
    return Formatter.format_duration(seconds)


@register.filter
def status_badge(status: Any) -> str:
    return mark_safe(badge_html(status))  # built escaped


@register.filter
def masked(text: Any) -> str:
    """``text`` with the passwords of URLs in it masked (escaped by the template)."""
    return mask_urls("" if text is None else str(text))


@register.filter
def short(text: Any, limit: int = 120) -> str:
    return Formatter.shorten("" if text is None else str(text), int(limit))


@register.simple_tag
def query_with(params: QueryDict, **changes: Any) -> str:
    """``params`` with ``changes`` (None removes a key) and without the page cursor."""
    updated = params.copy()
    updated.pop("after", None)
    for key, value in changes.items():
        updated.pop(key, None)
        if value not in (None, ""):
            updated[key] = value
    return updated.urlencode()


@register.filter
def wall(value: Any) -> str:
    """An aware datetime in its own zone (a schedule's), not the active one."""
    return wall_time(value)


@register.filter
def segment(value: Any) -> str:
    """``value`` quoted as one path segment, as ``reverse()`` quotes it ('/' too)."""
    return quote(str(value), safe="~:@!$&'()*+,;=")

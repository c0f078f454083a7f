"""The Jinja2 environment of the dashboard's pages: the templates of ``flowrra/ui/templates``
and the filters they share with the Django templates' (times, durations, badges)."""

from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ..formatter import Formatter, as_datetime, mask_urls

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"


def _zone_filters(timezone: dt.tzinfo) -> dict[str, Any]:
    from markupsafe import Markup, escape

    def local(moment: dt.datetime) -> dt.datetime:
        return moment.astimezone(timezone)

    def when(value: Any) -> Any:
        moment = as_datetime(value)
        if moment is None:
            return "-"
        stamp = local(moment)
        return Markup(
            '<time datetime="{}" title="{}"><span class="fl-date">{} </span>{} '
            '<span class="rel">{}</span></time>'
        ).format(
            moment.isoformat(),
            stamp.strftime("%Y-%m-%d %H:%M:%S %Z"),
            stamp.strftime("%Y-%m-%d"),
            stamp.strftime("%H:%M:%S"),
            Formatter.format_relative(moment),
        )

    def ago(value: Any) -> Any:
        moment = as_datetime(value)
        if moment is None:
            return "-"
        return Markup('<time datetime="{}" title="{}">{}</time>').format(
            moment.isoformat(),
            local(moment).strftime("%Y-%m-%d %H:%M:%S %Z"),
            Formatter.format_relative(moment),
        )

    def status_badge(status: Any) -> Any:
        value = getattr(status, "value", status)
        color = Formatter.get_status_color(str(value))
        return Markup('<span class="fl-badge {}">{}</span>').format(color, value)

    def truncatechars(value: Any, limit: int) -> str:
        text = str(value)
        return text if len(text) <= limit else text[: limit - 1] + "…"

    return {
        "when": when,
        "ago": ago,
        "status_badge": status_badge,
        "duration": Formatter.format_duration,
        "masked": lambda text: mask_urls("" if text is None else str(text)),
        "short": lambda text, limit=120: Formatter.shorten(
            "" if text is None else str(text), limit
        ),
        "segment": lambda value: quote(str(value), safe="~:@!$&'()*+,;="),
        "truncatechars": truncatechars,
        "default_if_none": lambda value, default: default if value is None else value,
        "pluralize": lambda n, suffix="s": "" if n == 1 else suffix,
        "escape": escape,
    }


@cache
def environment(timezone: dt.tzinfo) -> Any:
    """The environment of pages shown in ``timezone`` (one per zone, made once)."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
    )
    env.filters.update(_zone_filters(timezone))
    return env


def render(timezone: dt.tzinfo, template: str, context: dict[str, Any]) -> bytes:
    return environment(timezone).get_template(template).render(context).encode()

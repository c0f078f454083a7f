"""The Jinja2 environment of the dashboard's pages: the templates of ``flowrra/ui/templates``,
the one home of every page's markup, and their filters (times, durations, badges).

The FastAPI, Flask and Quart adapters render a whole page (``flowrra/base.html`` is their
frame); the Django app renders a page's blocks (:func:`render_blocks`) into the admin's frame.
What differs between the two is context: ``forms`` (actions are CSRF-protected HTML forms
posted to the pages' own URLs, not buttons calling the JSON API), ``csrf_input``, ``can``
(the actions the user may use), ``commands`` and ``static(name)``."""

from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ..formatter import Formatter, as_datetime, badge_html, mask_urls, time_html, wall_time

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"

#: The actions a page may offer (``can.<action>`` in the templates); outside Django whoever
#: sees the pages may use them all.
ACTIONS = ("control", "add_schedule", "change_schedule", "delete_schedule", "control_worker")


def _zone_filters(timezone: dt.tzinfo) -> dict[str, Any]:
    from markupsafe import Markup

    def when(value: Any, relative_only: bool = False) -> Any:
        moment = as_datetime(value)
        if moment is None:
            return "-"
        local = moment.astimezone(timezone)
        return Markup(time_html(moment, local, relative_only=relative_only))  # built escaped

    def truncatechars(value: Any, limit: int) -> str:
        text = str(value)
        return text if len(text) <= limit else text[: limit - 1] + "…"

    return {
        "when": when,
        "ago": lambda value: when(value, relative_only=True),
        "status_badge": lambda status: Markup(badge_html(status)),
        "duration": Formatter.format_duration,
        "masked": lambda text: mask_urls("" if text is None else str(text)),
        "short": lambda text, limit=120: Formatter.shorten(
            "" if text is None else str(text), limit
        ),
        "segment": lambda value: quote(str(value), safe="~:@!$&'()*+,;="),
        "truncatechars": truncatechars,
        "wall": wall_time,
        "default_if_none": lambda value, default: default if value is None else value,
        "pluralize": lambda n, suffix="s": "" if n == 1 else suffix,
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


def render_blocks(timezone: dt.tzinfo, template: str, context: dict[str, Any]) -> dict[str, Any]:
    """Each block ``template`` defines itself (``dashboard``, ``refresh``, ``live_scope``...),
    rendered with ``context``, for a frame other than ``flowrra/base.html`` to place."""
    from markupsafe import Markup

    page = environment(timezone).get_template(template)
    blocks = page.new_context(context)
    return {name: Markup("".join(block(blocks))) for name, block in page.blocks.items()}

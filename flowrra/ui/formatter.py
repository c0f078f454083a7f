"""Formatting shared by every UI adapter: times, durations, status colours, JSON, masked
URLs, and a task's timeline."""

from __future__ import annotations

import datetime as dt
import json
import re
from html import escape
from typing import Any

from ..plugins import mask_url
from ..serialization import dumps
from ..task import TaskResult, TaskStatus

#: Characters of a JSON value a page shows before it offers "show all".
PREVIEW_CHARS = 4_000

_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s\"'<>]+")


def as_datetime(value: Any) -> dt.datetime | None:
    """An aware datetime from a datetime (naive ones are UTC), an ISO 8601 string or Unix
    time; None for anything else."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return dt.datetime.fromtimestamp(value, dt.UTC)
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return None
    if not isinstance(value, dt.datetime):
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def mask_urls(text: str) -> str:
    """``text`` with the password of every URL in it replaced by ``***``."""
    return _URL.sub(lambda match: mask_url(match.group(0)), text) if "://" in text else text


_STATUS_COLORS = {
    TaskStatus.PENDING: "status-pending",
    TaskStatus.RUNNING: "status-running",
    TaskStatus.SUCCESS: "status-success",
    TaskStatus.FAILED: "status-failed",
    TaskStatus.RETRYING: "status-retrying",
    TaskStatus.REVOKED: "status-revoked",
}


class Formatter:
    """Static helpers formatting values for display, the same in every adapter."""

    @staticmethod
    def format_datetime(dt_value: Any, timezone: dt.tzinfo | None = None) -> str:
        """``YYYY-MM-DD HH:MM:SS`` in ``timezone`` (UTC by default) from a datetime or an
        ISO 8601 string; ``-`` for None or an unreadable value."""
        if dt_value is None or dt_value == "":
            return "-"
        moment = dt_value
        if isinstance(moment, str):
            try:
                moment = dt.datetime.fromisoformat(moment)
            except ValueError:
                return "-"
        if not isinstance(moment, dt.datetime):
            return "-"
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        return moment.astimezone(timezone or dt.UTC).strftime("%Y-%m-%d %H:%M:%S")

    @staticmethod
    def format_duration(seconds: float | None) -> str:
        """A short duration: ``850 ms``, ``45s``, ``2m 5s``, ``2h 30m``, ``3d 4h``."""
        if seconds is None:
            return "-"
        seconds = float(seconds)
        if seconds < 0:
            return "-"
        if seconds < 1:
            return f"{seconds * 1000:.0f} ms"
        if seconds < 60:
            return f"{seconds:.1f}s" if seconds < 10 else f"{seconds:.0f}s"
        minutes, secs = divmod(int(seconds), 60)
        if minutes < 60:
            return f"{minutes}m {secs}s"
        hours, minutes = divmod(minutes, 60)
        if hours < 24:
            return f"{hours}h {minutes}m"
        days, hours = divmod(hours, 24)
        return f"{days}d {hours}h"

    @staticmethod
    def format_relative(moment: dt.datetime | None, now: dt.datetime | None = None) -> str:
        """``3 s ago``, ``in 5 min``, ``2 h ago``: how far ``moment`` is from ``now``."""
        if moment is None:
            return "-"
        now = now or dt.datetime.now(dt.UTC)
        delta = (moment - now).total_seconds()
        size = abs(delta)
        for unit, span in (("d", 86_400), ("h", 3_600), ("min", 60)):
            if size >= span:
                text = f"{int(size // span)} {unit}"
                break
        else:
            text = f"{int(size)} s"
        if size < 1:
            return "just now"
        return f"in {text}" if delta > 0 else f"{text} ago"

    @staticmethod
    def get_status_color(status: str) -> str:
        """The CSS class for a task status (``status-success`` ...; ``status-unknown``)."""
        try:
            return _STATUS_COLORS[TaskStatus(status)]
        except ValueError:
            return "status-unknown"

    @staticmethod
    def pretty_json(value: Any, limit: int | None = PREVIEW_CHARS) -> tuple[str, bool]:
        """``value`` as indented JSON text, cut after ``limit`` characters; and whether it
        was cut. The text is not escaped: templates escape it."""
        try:
            text = json.dumps(json.loads(dumps(value)), indent=2, ensure_ascii=False)
        except (TypeError, ValueError):
            text = repr(value)
        text = mask_urls(text)
        if limit is not None and len(text) > limit:
            return text[:limit], True
        return text, False

    @staticmethod
    def shorten(text: str | None, limit: int = 120) -> str:
        """``text`` on one line, cut to ``limit`` characters with an ellipsis."""
        if not text:
            return ""
        line = mask_urls(" ".join(str(text).split()))
        return line if len(line) <= limit else line[: limit - 1] + "…"


def time_html(moment: dt.datetime, local: dt.datetime, *, relative_only: bool = False) -> str:
    """A ``<time>`` element of ``moment`` shown as ``local`` (the viewer's zone) with how
    long ago or how soon it is; ``relative_only`` shows only the latter. Escaped HTML, the
    same for the Django and the Jinja2 templates."""
    title = escape(local.strftime("%Y-%m-%d %H:%M:%S %Z"))
    relative = escape(Formatter.format_relative(moment))
    if relative_only:
        return f'<time datetime="{moment.isoformat()}" title="{title}">{relative}</time>'
    return (
        f'<time datetime="{moment.isoformat()}" title="{title}"><span class="fl-date">'
        f'{local:%Y-%m-%d} </span>{local:%H:%M:%S} <span class="rel">{relative}</span></time>'
    )


def badge_html(status: Any) -> str:
    """A status as its coloured badge (escaped HTML)."""
    value = str(getattr(status, "value", status))
    return (
        f'<span class="fl-badge {escape(Formatter.get_status_color(value))}">{escape(value)}</span>'
    )


def wall_time(value: Any) -> str:
    """An aware datetime in its own zone (a schedule's), not the viewer's."""
    if not isinstance(value, dt.datetime):
        return "-"
    return value.strftime("%a %Y-%m-%d %H:%M %Z")


def timeline(result: TaskResult) -> list[tuple[str, dt.datetime | None, str]]:
    """The task's steps: (label, when, note), in order."""
    steps: list[tuple[str, dt.datetime | None, str]] = [("Submitted", result.submitted_at, "")]
    if result.submitted_at and result.started_at:
        wait = (result.started_at - result.submitted_at).total_seconds()
        steps.append(
            ("Started", result.started_at, f"after {Formatter.format_duration(wait)} queued")
        )
    elif result.started_at:
        steps.append(("Started", result.started_at, ""))
    if result.finished_at:
        note = f"{result.status.value} after {Formatter.format_duration(result.runtime)}"
        if result.retries:
            note += f", {result.retries} retr{'y' if result.retries == 1 else 'ies'}"
        steps.append(("Finished", result.finished_at, note))
    return steps

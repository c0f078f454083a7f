"""A schedule definition as a form or JSON gives it: read and checked field by field
(:func:`read_definition`, errors that name the field) and previewed (:func:`preview_runs`)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..registry import validate_options
from ..scheduler.cron import get_zone
from ..scheduler.models import (
    MissedPolicy,
    ScheduleType,
    cron_for,
    next_fire_time,
    normalize_schedule,
    parse_interval,
    parse_run_at,
)
from ..task import utcnow

if TYPE_CHECKING:
    from ..registry import TaskRegistry

#: Run times a preview lists.
PREVIEW_COUNT = 5
FIELDS = (
    "name",
    "task_name",
    "schedule_type",
    "schedule",
    "timezone",
    "args",
    "kwargs",
    "queue",
    "priority",
    "max_retries",
    "retry_delay",
    "missed_policy",
    "description",
    "enabled",
)


class ScheduleValidationError(ValueError):
    """A schedule definition that cannot be saved; ``errors`` maps each field to why."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{field}: {message}" for field, message in errors.items()))
        self.errors = errors


class ScheduleConflict(ScheduleValidationError):
    """A definition that clashes with another schedule (its name is taken)."""


@dataclass(slots=True)
class ScheduleDraft:
    """A checked schedule definition, ready to store."""

    name: str | None
    task_name: str
    schedule_type: ScheduleType
    schedule: Any
    timezone: str
    args: list[Any]
    kwargs: dict[str, Any]
    queue: str | None
    priority: int | None
    max_retries: int | None
    retry_delay: float | None
    missed_policy: MissedPolicy
    description: str | None
    enabled: bool


def _text(data: Mapping[str, Any], field: str) -> str:
    value = data.get(field)
    return "" if value is None else str(value).strip()


def _optional_int(data: Mapping[str, Any], field: str, errors: dict[str, str]) -> int | None:
    text = _text(data, field)
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        errors[field] = "Enter a whole number."
        return None


def _json(data: Mapping[str, Any], field: str, kind: type, errors: dict[str, str]) -> Any:
    raw = data.get(field)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return kind()
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as exc:
            errors[field] = f"Enter valid JSON ({exc.msg} at character {exc.pos})."
            return kind()
    if not isinstance(raw, kind):
        example = '[1, "a"]' if kind is list else '{"x": 1}'
        errors[field] = f"Enter a JSON {'list' if kind is list else 'object'}, e.g. {example}."
        return kind()
    return raw


def _run_at(text: str, zone: str) -> dt.datetime:
    """A one-off's run time: ISO 8601, read in ``zone`` when it carries no offset."""
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("Enter a date and time such as 2030-01-31T09:00.") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=get_zone(zone))
    return parse_run_at(moment)


def preview_runs(
    schedule_type: str,
    schedule: Any,
    timezone: str,
    count: int = PREVIEW_COUNT,
    now: dt.datetime | None = None,
) -> list[dt.datetime]:
    """The next ``count`` run times of a definition, in its ``timezone`` (``ValueError``
    with a message for the form when the definition is invalid)."""
    kind = ScheduleType(schedule_type)
    zone = get_zone(timezone)
    now = now or utcnow()
    if kind is ScheduleType.ONCE:
        run_at = _run_at(str(schedule), timezone) if isinstance(schedule, str) else schedule
        run_at = parse_run_at(run_at)
        return [run_at.astimezone(zone)] if run_at > now else []
    if kind is ScheduleType.INTERVAL:
        step = dt.timedelta(seconds=parse_interval(schedule))
        return [(now + step * (i + 1)).astimezone(zone) for i in range(count)]
    cron = cron_for(normalize_schedule(kind, schedule, timezone))
    runs: list[dt.datetime] = []
    moment = now
    for _ in range(count):
        moment = next_fire_time(cron, moment, zone)
        runs.append(moment.astimezone(zone))
    return runs


def read_definition(data: Mapping[str, Any], registry: TaskRegistry) -> ScheduleDraft:
    """Check a form's values (strings, as posted) against ``registry``'s tasks;
    ``ScheduleValidationError`` naming every field that is wrong."""
    errors: dict[str, str] = {}
    task_name = _text(data, "task_name")
    if task_name not in registry:
        known = ", ".join(spec.name for spec in registry) or "none"
        errors["task_name"] = f"Choose a registered task ({known})."
    timezone = _text(data, "timezone") or "UTC"
    try:
        get_zone(timezone)
    except ValueError as exc:
        errors["timezone"] = str(exc)
        timezone = "UTC"
    kind_text = _text(data, "schedule_type")
    try:
        kind = ScheduleType(kind_text)
    except ValueError:
        errors["schedule_type"] = "Choose cron, interval or once."
        kind = ScheduleType.CRON
    schedule_text = _text(data, "schedule")
    schedule: Any = schedule_text
    if not schedule_text:
        errors["schedule"] = "This field is required."
    elif "schedule_type" not in errors:
        try:
            if kind is ScheduleType.ONCE:
                schedule = _run_at(schedule_text, timezone)
                if schedule <= utcnow():
                    errors["schedule"] = "Choose a time in the future."
            normalize_schedule(kind, schedule, timezone)
        except ValueError as exc:
            errors.setdefault("schedule", str(exc)[:1].upper() + str(exc)[1:])
    args = _json(data, "args", list, errors)
    kwargs = _json(data, "kwargs", dict, errors)
    for key in kwargs:
        if not key.isidentifier():
            errors["kwargs"] = f"Keys must be argument names, got {key!r}."
    if task_name in registry and not {"args", "kwargs"} & set(errors):
        try:
            registry.get(task_name).check_arguments(tuple(args), kwargs)
        except TypeError as exc:
            errors["kwargs" if kwargs else "args"] = str(exc)
    priority = _optional_int(data, "priority", errors)
    max_retries = _optional_int(data, "max_retries", errors)
    retry_delay: float | None = None
    if _text(data, "retry_delay"):
        try:
            retry_delay = float(_text(data, "retry_delay"))
        except ValueError:
            errors["retry_delay"] = "Enter a number of seconds."
    queue = _text(data, "queue") or None
    for field, option in (
        ("queue", {"queue": queue}),
        ("priority", {"priority": priority}),
        ("max_retries", {"max_retries": max_retries}),
        ("retry_delay", {"retry_delay": retry_delay}),
    ):
        if field in errors:
            continue
        try:
            validate_options(**option)
        except (TypeError, ValueError) as exc:
            errors[field] = str(exc)
    try:
        missed = MissedPolicy(_text(data, "missed_policy") or MissedPolicy.RUN_ONCE)
    except ValueError:
        errors["missed_policy"] = "Choose run_once or skip."
        missed = MissedPolicy.RUN_ONCE
    name = _text(data, "name") or None
    if name is not None and len(name) > 200:
        errors["name"] = "Use at most 200 characters."
    if errors:
        raise ScheduleValidationError(errors)
    enabled = data.get("enabled")
    return ScheduleDraft(
        name=name,
        task_name=task_name,
        schedule_type=kind,
        schedule=schedule,
        timezone=timezone,
        args=args,
        kwargs=kwargs,
        queue=queue,
        priority=priority,
        max_retries=max_retries,
        retry_delay=retry_delay,
        missed_policy=missed,
        description=_text(data, "description") or None,
        enabled=enabled not in (None, "", False, "false", "0", "off"),
    )


def preview(
    data: Mapping[str, Any], now: dt.datetime | None = None
) -> tuple[list[dt.datetime], str | None]:
    """The next run times of the definition in ``data`` (``schedule_type``, ``schedule``,
    ``timezone``), or none and the reason it is invalid."""
    try:
        runs = preview_runs(
            _text(data, "schedule_type") or "cron",
            _text(data, "schedule"),
            _text(data, "timezone") or "UTC",
            now=now,
        )
    except ValueError as exc:
        return [], str(exc)
    return runs, None

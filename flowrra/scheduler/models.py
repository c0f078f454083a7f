"""What a schedule is (:class:`ScheduledTask`) and when it runs next (pure functions of time)."""

from __future__ import annotations

import datetime as dt
import enum
import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from ..task import utcnow
from .cron import CronExpression, get_zone, next_fire_time

UTC = dt.UTC

#: A run found later than this many seconds is "missed" and follows its ``missed_policy``.
DEFAULT_MISFIRE_GRACE = 60.0


class ScheduleType(enum.StrEnum):
    """How ``ScheduledTask.schedule`` is read: a cron expression, a number of seconds, or an
    ISO 8601 datetime for a one-off run."""

    CRON = "cron"
    INTERVAL = "interval"
    ONCE = "once"
    ONE_TIME = "once"  # the first Flowrra API's name

    @classmethod
    def _missing_(cls, value: object) -> ScheduleType | None:
        return cls.ONCE if value == "one_time" else None


class MissedPolicy(enum.StrEnum):
    """What a run found late (the scheduler was down) does: run once now, or wait for the
    next occurrence. Either way a schedule never fires once per missed occurrence."""

    RUN_ONCE = "run_once"
    SKIP = "skip"


@dataclass(slots=True)
class ScheduledTask:
    """A registered task run on a schedule.

    ``timezone`` is the IANA zone a cron expression is read in. ``queue``, ``priority``,
    ``max_retries`` and ``retry_delay`` left as None use the task's registered options.
    Datetimes are timezone-aware (UTC).
    """

    id: str
    task_name: str
    schedule_type: ScheduleType
    schedule: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    enabled: bool = True
    last_run_at: dt.datetime | None = None
    next_run_at: dt.datetime | None = None
    created_at: dt.datetime = field(default_factory=utcnow)
    updated_at: dt.datetime = field(default_factory=utcnow)
    description: str | None = None
    max_retries: int | None = None
    retry_delay: float | None = None
    priority: int | None = None
    queue: str | None = None
    timezone: str = "UTC"
    missed_policy: MissedPolicy = MissedPolicy.RUN_ONCE
    name: str | None = None
    total_run_count: int = 0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (datetimes as ISO 8601 strings)."""
        return {
            "id": self.id,
            "name": self.name,
            "task_name": self.task_name,
            "schedule_type": self.schedule_type.value,
            "schedule": self.schedule,
            "timezone": self.timezone,
            "args": list(self.args),
            "kwargs": self.kwargs,
            "enabled": self.enabled,
            "last_run_at": _iso(self.last_run_at),
            "next_run_at": _iso(self.next_run_at),
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.updated_at),
            "description": self.description,
            "max_retries": self.max_retries,
            "retry_delay": self.retry_delay,
            "priority": self.priority,
            "queue": self.queue,
            "missed_policy": self.missed_policy.value,
            "total_run_count": self.total_run_count,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScheduledTask:
        """Rebuild a schedule from :meth:`to_dict` output (naive datetimes are taken as UTC)."""
        return cls(
            id=str(data["id"]),
            task_name=data["task_name"],
            schedule_type=ScheduleType(data["schedule_type"]),
            schedule=str(data["schedule"]),
            args=tuple(data.get("args") or ()),
            kwargs=dict(data.get("kwargs") or {}),
            enabled=bool(data.get("enabled", True)),
            last_run_at=_aware(data.get("last_run_at")),
            next_run_at=_aware(data.get("next_run_at")),
            created_at=_aware(data.get("created_at")) or utcnow(),
            updated_at=_aware(data.get("updated_at")) or utcnow(),
            description=data.get("description"),
            max_retries=data.get("max_retries"),
            retry_delay=data.get("retry_delay"),
            priority=data.get("priority"),
            queue=data.get("queue"),
            timezone=data.get("timezone") or "UTC",
            missed_policy=MissedPolicy(data.get("missed_policy") or MissedPolicy.RUN_ONCE),
            name=data.get("name"),
            total_run_count=int(data.get("total_run_count") or 0),
        )

    def first_run(self, now: dt.datetime) -> dt.datetime | None:
        """When a schedule created (or enabled, or edited) at ``now`` runs first; None for a
        one-off that already ran at or after its run time."""
        if self.schedule_type is ScheduleType.ONCE:
            run_at = parse_run_at(self.schedule)
            done = self.last_run_at is not None and self.last_run_at >= run_at
            return None if done else run_at
        if self.schedule_type is ScheduleType.INTERVAL:
            return now + dt.timedelta(seconds=parse_interval(self.schedule))
        return next_fire_time(cron_for(self.schedule), now, get_zone(self.timezone))

    def run_after(self, now: dt.datetime) -> dt.datetime | None:
        """The first occurrence strictly after ``now``; None once a one-off has run.

        An interval keeps its phase (``next_run_at`` plus whole intervals), so a late run
        does not shift later ones.
        """
        if self.schedule_type is ScheduleType.ONCE:
            return None
        if self.schedule_type is ScheduleType.CRON:
            return next_fire_time(cron_for(self.schedule), now, get_zone(self.timezone))
        interval = parse_interval(self.schedule)
        base = self.next_run_at or now
        if base > now:
            return base
        steps = math.floor((now - base).total_seconds() / interval) + 1
        return base + dt.timedelta(seconds=steps * interval)


@dataclass(frozen=True, slots=True)
class Decision:
    """What the scheduler does with a due schedule: fire it or not, and when it is due next
    (None: it is finished and gets disabled)."""

    fire: bool
    next_run_at: dt.datetime | None
    missed: bool = False
    #: Later occurrences that were due by ``now`` too (the scheduler could not run): the
    #: missed policy covers them by this run (``run_once``) or skips them, never silently.
    passed_over: tuple[dt.datetime, ...] = ()


def decide(task: ScheduledTask, now: dt.datetime, grace: float = DEFAULT_MISFIRE_GRACE) -> Decision:
    """The decision for ``task`` found due at ``now`` (a pure function).

    A run found more than ``grace`` seconds late is missed: ``run_once`` fires it once and
    ``skip`` does not; the next run is always the first occurrence after ``now``, so a
    scheduler that was down never fires a burst of old occurrences. A schedule without a
    next run (created in bulk, or just enabled) is only planned.
    """
    if task.next_run_at is None:
        return Decision(False, task.first_run(now))
    missed = (now - task.next_run_at).total_seconds() > grace
    fire = not missed or task.missed_policy is MissedPolicy.RUN_ONCE
    return Decision(fire, task.run_after(now), missed, passed_over(task, now))


#: Most passed-over occurrences a decision lists (a beat down for a day under a 1 s
#: interval passed over 86,400: the count says so, the list stops here).
PASSED_OVER_LISTED = 20


def passed_over(task: ScheduledTask, now: dt.datetime) -> tuple[dt.datetime, ...]:
    """The occurrences of ``task`` after its due one (``next_run_at``) and up to ``now``:
    up to :data:`PASSED_OVER_LISTED` of them."""
    due = task.next_run_at
    if due is None or task.schedule_type is ScheduleType.ONCE:
        return ()
    found: list[dt.datetime] = []
    moment = due
    while len(found) < PASSED_OVER_LISTED:
        if task.schedule_type is ScheduleType.INTERVAL:
            following: dt.datetime | None = moment + dt.timedelta(
                seconds=parse_interval(task.schedule)
            )
        else:
            following = next_fire_time(cron_for(task.schedule), moment, get_zone(task.timezone))
        if following is None or following > now:
            break
        found.append(following)
        moment = following
    return tuple(found)


def count_passed_over(task: ScheduledTask, now: dt.datetime, listed: int) -> int:
    """How many occurrences :func:`passed_over` found, counted past its list's end for an
    interval (a cron schedule reports the listed ones)."""
    if listed < PASSED_OVER_LISTED or task.schedule_type is not ScheduleType.INTERVAL:
        return listed
    assert task.next_run_at is not None
    seconds = (now - task.next_run_at).total_seconds()
    return math.floor(seconds / parse_interval(task.schedule))


def normalize_schedule(schedule_type: ScheduleType | str, schedule: Any, timezone: str) -> str:
    """Validate a schedule definition and return it in its stored form.

    Raises ``ValueError`` with a message fit for a form field: an invalid cron expression,
    an interval that is not a number of seconds > 0, a naive or malformed datetime, an
    unknown time zone.
    """
    kind = ScheduleType(schedule_type)
    get_zone(timezone)
    if kind is ScheduleType.CRON:
        return CronExpression(schedule).expression
    if kind is ScheduleType.INTERVAL:
        seconds = parse_interval(schedule)
        return str(int(seconds)) if seconds.is_integer() else repr(seconds)
    return parse_run_at(schedule).isoformat()


def parse_interval(value: Any) -> float:
    """A number of seconds > 0; ``ValueError`` otherwise."""
    try:
        if isinstance(value, bool):
            raise ValueError
        seconds = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"an interval must be a number of seconds, got {value!r}") from None
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"an interval must be a number of seconds > 0, got {value!r}")
    return seconds


def parse_run_at(value: Any) -> dt.datetime:
    """A timezone-aware datetime (or ISO 8601 string with an offset), in UTC."""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(
                f"a run time must be an ISO 8601 datetime such as "
                f"'2030-01-31T09:00:00+00:00', got {value!r}"
            ) from None
    if not isinstance(value, dt.datetime):
        raise ValueError(f"a run time must be a datetime, got {value!r}")
    if value.tzinfo is None:
        raise ValueError(
            "a run time must be timezone-aware: use datetime(..., tzinfo=UTC) or "
            "django.utils.timezone.now() + timedelta(...)"
        )
    return value.astimezone(UTC)


@lru_cache(maxsize=4096)
def cron_for(expression: str) -> CronExpression:
    """A shared, cached :class:`CronExpression` for ``expression``."""
    return CronExpression(expression)


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _aware(value: Any) -> dt.datetime | None:
    if value is None or value == "":
        return None
    moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment

"""Cron expressions evaluated in a time zone, and the pure next-fire computation.

A cron expression matches local wall-clock times in the schedule's time zone. Across a
daylight saving change each matching wall-clock time fires exactly once:

* a time skipped when clocks go forward (02:30 on the spring day in Europe/Berlin) fires at
  the first instant after the jump (03:00 CEST);
* a time that occurs twice when clocks go back fires at its first occurrence only.

Expressions whose hour field is ``*`` (``*/15 * * * *``, ``0 * * * *``) follow elapsed time
instead, as classic cron does for them: they skip the wall times that do not exist and run
again in the repeated hour, so "every 15 minutes" stays every 15 minutes.
"""

from __future__ import annotations

import datetime as dt
import threading
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

if TYPE_CHECKING:
    from croniter import croniter as Croniter

UTC = dt.UTC
FIELDS = "minute hour day-of-month month day-of-week"
MACROS = frozenset(
    {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
)


def _croniter() -> type[Croniter]:
    try:
        from croniter import croniter
    except ImportError:
        raise ImportError(
            "Cron schedules need the croniter package: pip install 'flowrra[cron]'"
        ) from None
    return croniter


@lru_cache(maxsize=256)
def get_zone(name: str) -> ZoneInfo:
    """The time zone called ``name``; ``ValueError`` naming the fix when there is none."""
    try:
        if not name or name != name.strip():
            raise ValueError
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError(
            f"unknown time zone {name!r}: use an IANA name such as 'UTC' or 'Europe/Berlin'"
        ) from None


class CronExpression:
    """A validated five-field cron expression (``minute hour day-of-month month
    day-of-week``) or one of the macros ``@hourly``, ``@daily``, ``@weekly``, ``@monthly``,
    ``@yearly``.

    ``CronExpression("61 * * * *")`` raises ``ValueError`` saying which field is wrong;
    forms call it to validate user input.
    """

    __slots__ = ("_iter", "_lock", "every_hour", "expression")

    def __init__(self, expression: str) -> None:
        if not isinstance(expression, str):
            raise ValueError(f"a cron expression must be a string, got {expression!r}")
        normalized = " ".join(expression.split())
        if not normalized:
            raise ValueError(f"the cron expression is empty; give five fields: {FIELDS}")
        if normalized.startswith("@"):
            if normalized.lower() not in MACROS:
                raise ValueError(
                    f"unknown cron macro {normalized!r}; use one of {', '.join(sorted(MACROS))}"
                )
            normalized = normalized.lower()
        else:
            count = len(normalized.split(" "))
            if count != 5:
                raise ValueError(
                    f"cron expression {normalized!r} has {count} field(s); give exactly five: "
                    f"{FIELDS} (for example '30 2 * * *' for 02:30 every day)"
                )
        croniter = _croniter()
        try:
            self._iter = croniter(normalized, dt.datetime(2000, 1, 1))
            self._iter.get_next(dt.datetime)
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(_explain(normalized, exc)) from None
        self.expression = normalized
        self._lock = threading.Lock()
        self.every_hour = self._iter.expanded[1] == ["*"]

    def __repr__(self) -> str:
        return f"CronExpression({self.expression!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CronExpression) and other.expression == self.expression

    def __hash__(self) -> int:
        return hash(self.expression)

    def next_wall_time(self, wall: dt.datetime) -> dt.datetime:
        """The first naive wall-clock time strictly after the naive ``wall`` that matches the
        expression, with no time zone in play (:func:`next_fire_time` adds it)."""
        with self._lock:  # one shared iterator: ``cron_for`` caches instances across threads
            self._iter.set_current(wall, force=True)
            result: dt.datetime = self._iter.get_next(dt.datetime)
        return result

    def next_run(self, after: dt.datetime | None = None, timezone: str = "UTC") -> dt.datetime:
        """The first fire time strictly after ``after`` (default: now), as an aware UTC
        datetime, with the expression read in ``timezone``."""
        return next_fire_time(self, after or dt.datetime.now(UTC), get_zone(timezone))


_RANGES = (
    ("minute", "0-59"),
    ("hour", "0-23"),
    ("day-of-month", "1-31"),
    ("month", "1-12 or jan-dec"),
    ("day-of-week", "0-6 or sun-sat"),
)


def _explain(expression: str, exc: Exception) -> str:
    """A message naming the first field of ``expression`` that croniter rejects."""
    if "failed to find" in str(exc):
        return f"cron expression {expression!r} never fires (no such date)"
    croniter = _croniter()
    fields = expression.split(" ") if not expression.startswith("@") else []
    for index, (name, allowed) in enumerate(_RANGES if len(fields) == len(_RANGES) else ()):
        probe = ["*"] * len(_RANGES)
        probe[index] = fields[index]
        try:
            croniter(" ".join(probe), dt.datetime(2000, 1, 1))
        except (ValueError, KeyError, TypeError):
            return (
                f"cron expression {expression!r}: the {name} field {fields[index]!r} is not "
                f"valid (allowed: {allowed}, with '*', ',', '-' and '/')"
            )
    return f"cron expression {expression!r} is not valid ({FIELDS}): {exc}"


@lru_cache(maxsize=4096)
def next_fire_time(cron: CronExpression, after: dt.datetime, zone: dt.tzinfo) -> dt.datetime:
    """The first instant strictly after the aware datetime ``after`` at which ``cron``,
    read in ``zone``, fires; an aware UTC datetime. A pure function of its arguments (see
    the module documentation for daylight saving changes), so it is cached: the many
    schedules that share an expression and fire together cost one computation."""
    if after.tzinfo is None:
        raise ValueError("after must be a timezone-aware datetime")
    after = after.astimezone(UTC)
    wall = after.astimezone(zone).replace(tzinfo=None, fold=0)
    while True:
        wall = cron.next_wall_time(wall)
        moment = _resolve(wall, zone, after, cron.every_hour)
        if moment is None:
            continue
        if cron.every_hour and _offset(moment, zone) < _offset(after, zone):
            # Clocks went back between ``after`` and ``moment``: the repeated hour may hold
            # earlier fires that the wall-clock walk passed over.
            return _first_in_repeat(cron, after, moment, zone) or moment
        return moment


def _offset(moment: dt.datetime, zone: dt.tzinfo) -> dt.timedelta:
    offset = moment.astimezone(zone).utcoffset()
    assert offset is not None
    return offset


def _resolve(
    wall: dt.datetime, zone: dt.tzinfo, after: dt.datetime, every_hour: bool
) -> dt.datetime | None:
    """The instant at which the wall-clock time ``wall`` fires, or None when it does not
    fire after ``after``."""
    first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    second = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    if first > second:  # a wall time in the spring-forward gap
        if every_hour:
            return None
        jump = _transition(second, first, zone)
        return jump if jump > after else None
    if first > after:
        return first
    if every_hour and second > after:
        return second
    return None


def _transition(low: dt.datetime, high: dt.datetime, zone: dt.tzinfo) -> dt.datetime:
    """The first whole second in (low, high] with the UTC offset that ``high`` has."""
    target = _offset(high, zone)
    low_s, high_s = int(low.timestamp()), int(high.timestamp())
    while high_s - low_s > 1:
        middle = (low_s + high_s) // 2
        if _offset(dt.datetime.fromtimestamp(middle, UTC), zone) == target:
            high_s = middle
        else:
            low_s = middle
    return dt.datetime.fromtimestamp(high_s, UTC)


def _first_in_repeat(
    cron: CronExpression, after: dt.datetime, moment: dt.datetime, zone: dt.tzinfo
) -> dt.datetime | None:
    """The first fire inside the repeated wall-clock hour between ``after`` and ``moment``."""
    change = _transition(after, moment, zone)
    repeat_start = change.astimezone(zone).replace(tzinfo=None, fold=0)
    repeat_end = (change - dt.timedelta(microseconds=1)).astimezone(zone).replace(tzinfo=None)
    wall = cron.next_wall_time(repeat_start - dt.timedelta(seconds=1))
    if wall > repeat_end:
        return None
    candidate = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    return candidate if after < candidate < moment else None

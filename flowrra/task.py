"""The task message (:class:`Task`), its stored outcome (:class:`TaskResult`) and its states."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import functools
import operator
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

UTC = dt.UTC


class TaskStatus(enum.StrEnum):
    """The life of a task: PENDING -> RUNNING -> SUCCESS | FAILED | RETRYING -> ... ; or REVOKED."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"
    RETRYING = "retrying"
    REVOKED = "revoked"

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATES


FINAL_STATES = frozenset({TaskStatus.SUCCESS, TaskStatus.FAILED, TaskStatus.REVOKED})


#: The current time, timezone-aware in UTC. A partial, not a function: it is called three
#: times per task, and a Python frame around the C call doubled its cost.
utcnow: Callable[[], dt.datetime] = functools.partial(dt.datetime.now, UTC)


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _iso_z(value: dt.datetime | None) -> str | None:
    """ISO 8601 with ``Z`` for UTC (five bytes less in every queued message)."""
    if value is None:
        return None
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _same(value: dt.datetime | None) -> dt.datetime | None:
    return value


def _from_iso(value: Any) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(value)


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)


@dataclass(slots=True)
class Task:
    """One unit of work as it travels through a broker.

    ``eta`` is a Unix timestamp before which the task must not run; ``current_retry`` counts
    the attempts already made.
    """

    id: str
    name: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    max_retries: int = 3
    retry_delay: float = 1.0
    current_retry: int = 0
    priority: int = 0
    cpu_bound: bool = False
    queue: str = "default"
    eta: float | None = None
    timeout: float | None = None
    submitted_at: dt.datetime | None = None

    def to_message(self) -> dict[str, Any]:
        """The JSON-ready form a broker stores; options at their default are left out (a
        queued message is then a third smaller), :meth:`from_message` reads them back."""
        message = {
            "id": self.id,
            "name": self.name,
            "args": list(self.args),
            "kwargs": self.kwargs,
            "max_retries": self.max_retries,
            "retry_delay": self.retry_delay,
            "current_retry": self.current_retry,
            "priority": self.priority,
            "cpu_bound": self.cpu_bound,
            "queue": self.queue,
            "eta": self.eta,
            "timeout": self.timeout,
            "submitted_at": _iso_z(self.submitted_at),
        }
        implied = _IMPLIED_IN_MESSAGES
        return {k: v for k, v in message.items() if k not in implied or implied[k] != v}

    @classmethod
    def from_message(cls, data: dict[str, Any]) -> Task:
        """Rebuild a task from :meth:`to_message` output; raise ``ValueError`` on a bad shape."""
        args, kwargs = data.get("args") or (), data.get("kwargs") or {}
        if not isinstance(args, list | tuple) or not isinstance(kwargs, dict):
            raise ValueError("malformed task message: args must be a list and kwargs an object")
        if not all(isinstance(key, str) for key in kwargs):
            raise ValueError("malformed task message: kwargs keys must be strings")
        try:
            task = cls(
                id=str(data["id"]),
                name=str(data["name"]),
                args=tuple(args),
                kwargs=dict(kwargs),
                max_retries=int(data.get("max_retries", 3)),
                retry_delay=float(data.get("retry_delay", 1.0)),
                current_retry=int(data.get("current_retry", 0)),
                priority=int(data.get("priority", 0)),
                cpu_bound=bool(data.get("cpu_bound", False)),
                queue=str(data.get("queue") or "default"),
                eta=_optional_float(data.get("eta")),
                timeout=_optional_float(data.get("timeout")),
                submitted_at=_from_iso(data.get("submitted_at")),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"malformed task message: {exc!r}") from None
        return task


#: The values a message leaves out: every option at its default (which ``from_message`` reads
#: for a missing key), and empty kwargs.
_IMPLIED_IN_MESSAGES: dict[str, Any] = {
    field.name: field.default
    for field in dataclasses.fields(Task)
    if field.default is not dataclasses.MISSING
} | {"kwargs": {}}


@dataclass(slots=True)
class TaskResult:
    """The stored state and outcome of one task.

    A failure keeps the exception's type (``error_type``), message (``error``) and formatted
    ``traceback``.
    """

    task_id: str
    status: TaskStatus
    task_name: str | None = None
    result: Any = None
    error: str | None = None
    submitted_at: dt.datetime | None = None
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    retries: int = 0
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    error_type: str | None = None
    traceback: str | None = None
    queue: str = "default"
    priority: int = 0
    worker: str | None = None

    @property
    def is_complete(self) -> bool:
        """True once the task reached a final state: success, failed or revoked."""
        return self.status in FINAL_STATES

    @property
    def is_success(self) -> bool:
        return self.status is TaskStatus.SUCCESS

    @property
    def runtime(self) -> float | None:
        """Seconds between start and finish of the last attempt, when both are known."""
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()

    @property
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (datetimes as ISO 8601); a property, as in Flowrra's first API."""
        return self.to_document(native_datetimes=False)

    def to_document(self, *, native_datetimes: bool) -> dict[str, Any]:
        """:attr:`to_dict`, with datetimes as they are when ``native_datetimes`` (for an
        encoder that writes them as ISO 8601 itself)."""
        when: Callable[[dt.datetime | None], Any] = _same if native_datetimes else _iso
        started, finished = self.started_at, self.finished_at
        return {
            "task_id": self.task_id,
            "status": self.status.value,
            "task_name": self.task_name,
            "result": self.result,
            "error": self.error,
            "error_type": self.error_type,
            "traceback": self.traceback,
            "submitted_at": when(self.submitted_at),
            "started_at": when(started),
            "finished_at": when(finished),
            "runtime": None
            if started is None or finished is None
            else (finished - started).total_seconds(),
            "retries": self.retries,
            "args": list(self.args),
            "kwargs": self.kwargs,
            "queue": self.queue,
            "priority": self.priority,
            "worker": self.worker,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TaskResult:
        """Rebuild a result from :attr:`to_dict` output."""
        return cls(
            task_id=data["task_id"],
            status=TaskStatus(data["status"]),
            task_name=data.get("task_name"),
            result=data.get("result"),
            error=data.get("error"),
            submitted_at=_from_iso(data.get("submitted_at")),
            started_at=_from_iso(data.get("started_at")),
            finished_at=_from_iso(data.get("finished_at")),
            retries=int(data.get("retries") or 0),
            args=tuple(data.get("args") or ()),
            kwargs=dict(data.get("kwargs") or {}),
            error_type=data.get("error_type"),
            traceback=data.get("traceback"),
            queue=data.get("queue") or "default",
            priority=int(data.get("priority") or 0),
            worker=data.get("worker"),
        )

    @classmethod
    def for_task(
        cls,
        task: Task,
        status: TaskStatus,
        *,
        started_at: dt.datetime | None = None,
        worker: str | None = None,
        result: Any = None,
        finished_at: dt.datetime | None = None,
    ) -> TaskResult:
        """A record of ``task`` in ``status`` (PENDING at submit, RUNNING or final in a
        worker)."""
        # positional, in the fields' order: this runs once or twice for every task
        return cls(
            task.id,
            status,
            task.name,
            result,
            None,
            task.submitted_at,
            started_at,
            finished_at,
            task.current_retry,
            task.args,
            task.kwargs,
            None,
            None,
            task.queue,
            task.priority,
            worker,
        )

    def evolve(self, status: TaskStatus, **changes: Any) -> TaskResult:
        """A copy in a new state; results handed out are never mutated afterwards."""
        return dataclasses.replace(self, status=status, **changes)


#: A run that succeeded, as a worker holds it until it is stored: (task, started_at, result,
#: finished_at). A backend in the worker's process stores it without a :class:`TaskResult`.
Success = tuple[Task, dt.datetime, Any, dt.datetime]


#: Task ids made 128 at a time from one ``os.urandom`` call (a system call per id cost more
#: than the rest of making it), the version and variant bits set on all of them at once. A
#: list, so threads may pop from it at once; a forked child starts empty, never sharing its
#: parent's ids.
_fresh_ids: list[str] = []
os.register_at_fork(after_in_child=_fresh_ids.clear)
_VERSION_4 = bytes((byte & 0x0F) | 0x40 for byte in range(256))
_VARIANT_RFC_4122 = bytes((byte & 0x3F) | 0x80 for byte in range(256))
_UUID_GROUPS = operator.itemgetter(
    slice(0, 8), slice(8, 12), slice(12, 16), slice(16, 20), slice(20, 32)
)


def _make_ids() -> list[str]:
    raw = bytearray(os.urandom(16 * 128))
    raw[6::16] = raw[6::16].translate(_VERSION_4)
    raw[8::16] = raw[8::16].translate(_VARIANT_RFC_4122)
    digits, join = raw.hex(), "-".join
    return [join(_UUID_GROUPS(digits[i : i + 32])) for i in range(0, len(digits), 32)]


def new_task_id() -> str:
    """A random UUID4 string."""
    try:
        return _fresh_ids.pop()
    except IndexError:
        _fresh_ids.extend(_make_ids())
        return _fresh_ids.pop()

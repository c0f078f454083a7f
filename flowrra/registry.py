"""TaskRegistry: task name -> :class:`TaskSpec` (the function and its default options)."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from .exceptions import TaskNotFoundError

F = TypeVar("F", bound=Callable[..., Any])

PRIORITY_MIN = 0
PRIORITY_MAX = 9
DEFAULT_QUEUE = "default"
_QUEUE_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")


def validate_options(
    *,
    max_retries: int | None = None,
    retry_delay: float | None = None,
    priority: int | None = None,
    queue: str | None = None,
    timeout: float | None = None,
) -> None:
    """Raise ``ValueError`` (or ``TypeError``) for a task option outside its range."""
    if max_retries is not None and (
        not isinstance(max_retries, int) or isinstance(max_retries, bool) or max_retries < 0
    ):
        raise ValueError(f"max_retries must be a whole number >= 0, got {max_retries!r}")
    if retry_delay is not None and (not isinstance(retry_delay, int | float) or retry_delay < 0):
        raise ValueError(f"retry_delay must be a number of seconds >= 0, got {retry_delay!r}")
    if priority is not None and (
        not isinstance(priority, int)
        or isinstance(priority, bool)
        or not PRIORITY_MIN <= priority <= PRIORITY_MAX
    ):
        raise ValueError(
            f"priority must be a whole number from {PRIORITY_MIN} to {PRIORITY_MAX} "
            f"(higher runs first), got {priority!r}"
        )
    if queue is not None and (not isinstance(queue, str) or not _QUEUE_NAME.match(queue)):
        raise ValueError(
            f"queue must be 1-100 characters of letters, digits, '_', '.', ':' or '-', "
            f"got {queue!r}"
        )
    if timeout is not None and (not isinstance(timeout, int | float) or timeout <= 0):
        raise ValueError(f"timeout must be a number of seconds > 0, or None, got {timeout!r}")


@dataclass(frozen=True, slots=True)
class TaskSpec:
    """A registered task: the function and its default options."""

    name: str
    func: Callable[..., Any]
    cpu_bound: bool = False
    max_retries: int = 3
    retry_delay: float = 1.0
    priority: int = 0
    queue: str = DEFAULT_QUEUE
    timeout: float | None = None

    def describe(self) -> dict[str, Any]:
        """A JSON-ready description for UIs and the manager."""
        return {
            "name": self.name,
            "module": self.func.__module__,
            "function": self.func.__qualname__,
            "cpu_bound": self.cpu_bound,
            "executor": "cpu" if self.cpu_bound else "io",
            "max_retries": self.max_retries,
            "retry_delay": self.retry_delay,
            "priority": self.priority,
            "queue": self.queue,
            "timeout": self.timeout,
            "doc": inspect.getdoc(self.func) or "",
        }


class TaskRegistry:
    """Maps task names to :class:`TaskSpec` and functions back to their names."""

    def __init__(self, strict_cpu_checks: bool = True) -> None:
        self.strict_cpu_checks = strict_cpu_checks
        self._by_name: dict[str, TaskSpec] = {}
        self._by_func: dict[Callable[..., Any], TaskSpec] = {}
        self._finders: list[Callable[[str], TaskSpec | None]] = []
        self._declared_queues: set[str] = set()

    def task(
        self,
        name: str | None = None,
        cpu_bound: bool = False,
        max_retries: int = 3,
        retry_delay: float = 1.0,
        *,
        priority: int = 0,
        queue: str = DEFAULT_QUEUE,
        timeout: float | None = None,
    ) -> Callable[[F], F]:
        """Decorator registering a function as a task; the function is returned unchanged."""
        validate_options(
            max_retries=max_retries,
            retry_delay=retry_delay,
            priority=priority,
            queue=queue,
            timeout=timeout,
        )
        if name is not None and (not isinstance(name, str) or not name.strip()):
            raise ValueError(f"task name must be a non-empty string, got {name!r}")

        def decorator(func: F) -> F:
            self.register(
                TaskSpec(
                    name=name or func.__name__,
                    func=func,
                    cpu_bound=cpu_bound,
                    max_retries=max_retries,
                    retry_delay=float(retry_delay),
                    priority=priority,
                    queue=queue,
                    timeout=None if timeout is None else float(timeout),
                )
            )
            return func

        return decorator

    def register(self, spec: TaskSpec) -> None:
        """Add ``spec``; re-registering the same function (a module imported twice) replaces it."""
        self._check_callable(spec)
        existing = self._by_name.get(spec.name)
        if existing is not None and _origin(existing.func) != _origin(spec.func):
            raise ValueError(
                f"Task name {spec.name!r} is already used by {_origin(existing.func)}; "
                "give one of them another name with @app.task(name=...)."
            )
        if existing is not None:
            self._by_func.pop(existing.func, None)
        self._by_name[spec.name] = spec
        self._by_func[spec.func] = spec

    def _check_callable(self, spec: TaskSpec) -> None:
        func = spec.func
        if not callable(func):
            raise TypeError(f"@task needs a function, got {func!r}")
        is_async = inspect.iscoroutinefunction(func)
        if spec.cpu_bound and is_async:
            raise TypeError(
                f"Task {spec.name!r} is an async function but was registered with cpu_bound=True. "
                "Async tasks run on the event loop: drop cpu_bound=True, or make it a regular "
                "'def' to run it in the process pool."
            )
        if not spec.cpu_bound and not is_async:
            raise TypeError(
                f"Task {spec.name!r} is a regular function. I/O tasks must be 'async def'; "
                "for blocking or CPU-heavy work register it with @app.task(cpu_bound=True)."
            )
        if spec.cpu_bound and self.strict_cpu_checks:
            qualname = getattr(func, "__qualname__", "")
            if "<lambda>" in qualname or "<locals>" in qualname:
                raise TypeError(
                    f"CPU task {spec.name!r} ({qualname}) must be defined at module level: "
                    "worker processes import it by name, which a lambda or nested function "
                    "does not have."
                )

    def add_finder(self, finder: Callable[[str], TaskSpec | None]) -> None:
        """Ask ``finder`` about a name that is not registered: it returns the spec of that
        name (a task of a framework whose module was not imported yet), or None."""
        if finder not in self._finders:
            self._finders.append(finder)

    def get(self, name: str) -> TaskSpec:
        """The spec registered as ``name``; ``TaskNotFoundError`` if there is none."""
        try:
            return self._by_name[name]
        except KeyError:
            pass
        for finder in self._finders:
            spec = finder(name)
            if spec is not None and spec.name == name:
                self.register(spec)
                return spec
        raise TaskNotFoundError(name, list(self._by_name))

    def resolve(self, fn_or_name: Callable[..., Any] | str) -> TaskSpec:
        """The spec of a registered function or task name."""
        if isinstance(fn_or_name, str):
            return self.get(fn_or_name)
        try:
            return self._by_func[fn_or_name]
        except (KeyError, TypeError):
            label = getattr(fn_or_name, "__qualname__", repr(fn_or_name))
            raise TaskNotFoundError(label, list(self._by_name)) from None

    def declare_queues(self, names: Iterable[str]) -> None:
        """Queues a worker consumes by default although no registered task names them
        (tasks that a finder registers later, or that choose their queue per call)."""
        checked = list(names)
        for name in checked:
            validate_options(queue=name)
        self._declared_queues.update(checked)

    def queues(self) -> set[str]:
        """Every queue a registered task is sent to by default, and the declared ones."""
        return {spec.queue for spec in self._by_name.values()} | self._declared_queues

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __iter__(self) -> Iterator[TaskSpec]:
        return iter(sorted(self._by_name.values(), key=lambda spec: spec.name))

    def __len__(self) -> int:
        return len(self._by_name)


def _origin(func: Callable[..., Any]) -> str:
    return f"{getattr(func, '__module__', '?')}.{getattr(func, '__qualname__', repr(func))}"

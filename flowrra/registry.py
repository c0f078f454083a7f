"""TaskRegistry: task name -> :class:`TaskSpec` (the function and its default options)."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
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
    #: Fire-and-forget: no PENDING, RUNNING or SUCCESS result is stored, only failures.
    ignore_result: bool = False
    #: The function's signature, to check a call's arguments before it is enqueued.
    signature: inspect.Signature | None = field(default=None, init=False, repr=False, compare=False)
    #: (required, total) positional parameters when a positional-only call can be checked
    #: by counting (no ``*args``, keyword-only or required-after-optional parameters).
    _positional: tuple[int, int] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            signature: inspect.Signature | None = inspect.signature(self.func)
        except (TypeError, ValueError):  # a builtin or C callable without a signature
            signature = None
        object.__setattr__(self, "signature", signature)
        if signature is not None:
            params = list(signature.parameters.values())
            required = sum(1 for p in params if p.default is p.empty)
            simple = all(p.kind is p.POSITIONAL_OR_KEYWORD for p in params)
            if simple and all(p.default is p.empty for p in params[:required]):
                object.__setattr__(self, "_positional", (required, len(params)))

    def check_arguments(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """Raise ``TypeError`` naming the task when the function cannot be called with
        ``args`` and ``kwargs`` (too many or missing arguments, an unknown keyword)."""
        if self.signature is None:
            return
        counts = self._positional
        if counts is not None and not kwargs and counts[0] <= len(args) <= counts[1]:
            return  # the common call, checked without binding
        try:
            self.signature.bind(*args, **kwargs)
        except TypeError as exc:
            bare = self.signature.replace(
                parameters=[
                    p.replace(annotation=p.empty) for p in self.signature.parameters.values()
                ],
                return_annotation=inspect.Signature.empty,
            )
            raise TypeError(
                f"Task {self.name!r} cannot take these arguments: {exc} "
                f"(it is {self.func.__name__}{bare})"
            ) from None

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
    """Maps task names to :class:`TaskSpec` and functions back to their names.

    A task may also be registered under a short ``alias`` (``flowrra_django`` names a task
    ``shop.tasks.send_receipt`` and keeps ``send_receipt`` as its alias): lookups fall back
    to an alias that only one task has, so names stored before remain valid.
    """

    #: How tasks are registered, as error messages tell the user (``flowrra_django``: ``@task``).
    decorator = "@app.task"
    #: Where that decorator comes from, appended to "not registered" hints.
    decorator_source = ""

    def __init__(self, strict_cpu_checks: bool = True) -> None:
        self.strict_cpu_checks = strict_cpu_checks
        self._by_name: dict[str, TaskSpec] = {}
        self._by_func: dict[Callable[..., Any], TaskSpec] = {}
        self._aliases: dict[str, set[str]] = {}
        self._finders: list[Callable[[str], TaskSpec | None]] = []
        self._declared_queues: set[str] = set()
        #: Names of the tasks registered with ``ignore_result=True`` (one set lookup on the
        #: submit and worker paths instead of a spec lookup).
        self.fire_and_forget: set[str] = set()

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
        ignore_result: bool = False,
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
                    ignore_result=bool(ignore_result),
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
                f"give one of them another name with {self.decorator}(name=...)."
            )
        if existing is not None:
            self._by_func.pop(existing.func, None)
        self._by_name[spec.name] = spec
        self._by_func[spec.func] = spec
        if spec.ignore_result:
            self.fire_and_forget.add(spec.name)
        else:
            self.fire_and_forget.discard(spec.name)

    def add_alias(self, alias: str, name: str) -> None:
        """Let ``alias`` find the task ``name`` too, while no other task has that alias."""
        if alias != name:
            self._aliases.setdefault(alias, set()).add(self.get(name).name)

    def aliases(self) -> dict[str, set[str]]:
        """Each alias and the names of the tasks it was given to."""
        return {alias: set(names) for alias, names in self._aliases.items()}

    def fix_hint(self) -> str:
        """How to register a task, in the words of the API in use."""
        return f"Decorate the function with {self.decorator}(){self.decorator_source}."

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
                f"for blocking or CPU-heavy work register it with {self.decorator}(cpu_bound=True)."
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
        spec = self._by_name.get(name)
        if spec is not None:
            return spec
        full_names = self._aliases.get(name, ())
        if len(full_names) == 1:
            return self._by_name[next(iter(full_names))]
        for finder in self._finders if not full_names else ():
            spec = finder(name)
            if spec is not None and spec.name == name:
                self.register(spec)
                return spec
        raise TaskNotFoundError(
            name, list(self._by_name), self.fix_hint(), ambiguous=sorted(full_names)
        )

    def resolve(self, fn_or_name: Callable[..., Any] | str) -> TaskSpec:
        """The spec of a registered function or task name."""
        if isinstance(fn_or_name, str):
            return self.get(fn_or_name)
        try:
            return self._by_func[fn_or_name]
        except (KeyError, TypeError):
            label = getattr(fn_or_name, "__qualname__", repr(fn_or_name))
            raise TaskNotFoundError(label, list(self._by_name), self.fix_hint()) from None

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
        if name in self._by_name:
            return True
        return isinstance(name, str) and len(self._aliases.get(name, ())) == 1

    def __iter__(self) -> Iterator[TaskSpec]:
        return iter(sorted(self._by_name.values(), key=lambda spec: spec.name))

    def __len__(self) -> int:
        return len(self._by_name)


def _origin(func: Callable[..., Any]) -> str:
    return f"{getattr(func, '__module__', '?')}.{getattr(func, '__qualname__', repr(func))}"

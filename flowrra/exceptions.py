"""Every error Flowrra raises derives from :class:`FlowrraError`."""

from __future__ import annotations


class FlowrraError(Exception):
    """Base class of all Flowrra errors."""


class ConfigurationError(FlowrraError, ValueError):
    """A configuration value is missing or invalid; the message says which and how to fix it."""


class TaskNotFoundError(FlowrraError, LookupError):
    """Raised when a task is not found in the registry."""

    def __init__(
        self,
        task_name: str,
        known: list[str] | None = None,
        fix: str = "Decorate the function with @app.task().",
        *,
        ambiguous: list[str] | None = None,
    ) -> None:
        self.task_name = task_name
        if ambiguous:
            super().__init__(
                f"Task name {task_name!r} is ambiguous: {', '.join(sorted(ambiguous))} are "
                "all called so; use the full name."
            )
            return
        hint = ""
        if known is not None:
            listed = ", ".join(sorted(known)[:20]) or "none"
            hint = f" Registered tasks: {listed}. {fix}"
        super().__init__(f"Task {task_name!r} is not registered.{hint}")


class TaskTimeoutError(FlowrraError, TimeoutError):
    """Raised when waiting for a task result times out."""

    def __init__(self, task_id: str, timeout: float) -> None:
        self.task_id = task_id
        self.timeout = timeout
        super().__init__(f"Task {task_id} did not finish within {timeout:g} s")


class TaskTimeLimitExceeded(FlowrraError):
    """Stored as a task's error when the task ran longer than its ``timeout`` option."""

    def __init__(self, task_name: str, timeout: float) -> None:
        self.task_name = task_name
        self.timeout = timeout
        super().__init__(f"Task {task_name!r} exceeded its time limit of {timeout:g} s")

    def __reduce__(self) -> tuple[type, tuple[str, float]]:
        return (type(self), (self.task_name, self.timeout))


class TaskFailedError(FlowrraError):
    """Raised by :meth:`Flowrra.join` for the first task that ended FAILED."""

    def __init__(self, task_id: str, task_name: str, error: str | None) -> None:
        self.task_id = task_id
        self.task_name = task_name
        self.error = error
        super().__init__(f"Task {task_name!r} ({task_id}) failed: {error}")


class ExecutorNotRunningError(FlowrraError, RuntimeError):
    """Raised when submitting to a stopped executor."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(
            message
            or "The Flowrra app is not running. Use 'async with app:' or 'await app.start()' first."
        )


class BackendError(FlowrraError):
    """Raised when a backend operation fails."""


class BrokerError(FlowrraError):
    """Raised when a broker operation fails."""


class UnsupportedFeatureError(FlowrraError, NotImplementedError):
    """The chosen broker or backend does not support the requested feature."""


class ResultNotFoundError(FlowrraError, LookupError):
    """No result is stored for a task id: it was never submitted here, or it expired."""

    def __init__(self, task_id: str) -> None:
        self.task_id = task_id
        super().__init__(
            f"No result stored for task {task_id!r}: it was never submitted to this backend, "
            "or its result expired (see BackendConfig.ttl)."
        )

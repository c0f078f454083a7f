"""An executor used on its own, as Flowrra 0.1 documented it::

    executor = IOExecutor()

    @executor.task()
    async def fetch(url: str) -> str: ...

    async with executor:
        task_id = await executor.submit(fetch, "https://example.com")
        result = await executor.wait_for_result(task_id)

Such an executor is a small :class:`~flowrra.Flowrra` app of its own: its registry, its
config (the in-memory broker and result backend unless the config names others) and an
in-process worker, so a task runs with the same retries, events and results as through an
app. Inside a worker, executors only run tasks (``execute``) and none of this is used.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Self, TypeVar

from ..exceptions import ExecutorNotRunningError

if TYPE_CHECKING:
    from ..app import Flowrra
    from ..config import Config
    from ..registry import TaskRegistry
    from ..task import TaskResult

F = TypeVar("F", bound=Callable[..., Any])


class Standalone:
    """The seed's executor API: ``task``, ``submit``, ``wait_for_result``, ``get_result``,
    ``start``, ``stop`` and ``async with``."""

    config: Config
    registry: TaskRegistry
    kind: str

    def __init__(self) -> None:
        self._app: Flowrra | None = None

    def task(
        self,
        name: str | None = None,
        max_retries: int = 3,
        retry_delay: float = 1.0,
        **options: Any,
    ) -> Callable[[F], F]:
        """Register a task of this executor's kind (``async def`` for the I/O executor, a
        module-level ``def`` for the CPU one); ``TypeError`` for the other kind. Options as
        for ``app.task``: ``priority``, ``queue``, ``timeout``."""
        return self.registry.task(
            name, self.kind == "cpu", max_retries=max_retries, retry_delay=retry_delay, **options
        )

    @property
    def app(self) -> Flowrra:
        """The app this executor runs as when used on its own (made on first use)."""
        if self._app is None:
            from ..app import Flowrra

            self._app = Flowrra(self.config, registry=self.registry)
        return self._app

    @property
    def is_running(self) -> bool:
        return self._app is not None and self._app.is_running

    async def start(self) -> None:
        """Connect the broker and result backend and start running submitted tasks."""
        await self.app.start()

    async def stop(self, wait: bool = True, timeout: float | None = 30.0) -> None:
        """Stop; with ``wait``, queued and running tasks may finish within ``timeout``."""
        if self._app is not None:
            await self._app.stop(wait=wait, timeout=timeout)

    async def submit(
        self, task_func: Callable[..., Any] | str, /, *args: Any, **kwargs: Any
    ) -> str:
        """Submit a task registered on this executor; returns its id.
        ``ExecutorNotRunningError`` before :meth:`start`."""
        if not self.is_running:
            raise ExecutorNotRunningError()
        return await self.app.submit(task_func, *args, **kwargs)

    async def wait_for_result(self, task_id: str, timeout: float | None = None) -> TaskResult:
        """Wait until the task is complete; ``TaskTimeoutError`` after ``timeout`` seconds."""
        return await self.app.wait_for_result(task_id, timeout)

    async def get_result(self, task_id: str) -> TaskResult | None:
        """The stored result of ``task_id`` in whatever state it is, or None."""
        return await self.app.get_result(task_id)

    # ``async with`` is the app's: it decides how an exit with an error stops
    async def __aenter__(self) -> Self:
        await self.app.__aenter__()
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.app.__aexit__(*exc_info)

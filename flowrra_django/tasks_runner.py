"""Django's tasks in Flowrra's registry and worker.

A task of Django's Tasks framework whose backend is a ``FlowrraTaskBackend`` is a Flowrra
task named by its module path (``shop.tasks.send_receipt``). Its registered function is a
runner that, in the worker, sends Django's ``task_started`` and ``task_finished`` signals,
passes the ``TaskContext`` to tasks that take it, and runs the function: ``async`` ones on
the worker's loop, regular ones in a thread (as ``Task.acall`` does), with the stale
database connections of that thread closed around them.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import os
import socket
import traceback
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from django.db import close_old_connections
from django.dispatch import Signal
from django.utils import timezone

from flowrra.registry import TaskSpec
from flowrra.task import Task as Message
from flowrra.worker import current_task

from . import runtime
from .api import with_connection_cleanup
from .tasks_compat import (
    Task,
    TaskContext,
    TaskError,
    TaskResult,
    TaskResultStatus,
    normalize_json,
    task_finished,
    task_started,
)
from .tasks_mapping import flowrra_priority, set_return_value, task_for

if TYPE_CHECKING:
    from .tasks_backend import FlowrraTaskBackend

logger = logging.getLogger(__name__)


def spec_for(task: Task, backend: FlowrraTaskBackend) -> TaskSpec:
    """The Flowrra task that runs Django's ``task`` (its declared queue and priority are the
    defaults; each enqueue passes its own)."""
    return TaskSpec(
        name=task.module_path,
        func=_runner(task, type(backend)),
        cpu_bound=False,
        max_retries=_option(task, "max_retries", backend.max_retries),
        retry_delay=_option(task, "retry_delay", backend.retry_delay),
        priority=flowrra_priority(task.priority),
        queue=task.queue_name,
    )


def _option(task: Task, name: str, default: Any) -> Any:
    """The task's own option (``FlowrraTask``), else the backend's."""
    value = getattr(task, name, None)
    return default if value is None else value


def _runner(declared: Task, sender: type) -> Callable[..., Awaitable[Any]]:
    func = declared.func
    is_async = inspect.iscoroutinefunction(func)

    async def run(*args: Any, **kwargs: Any) -> Any:
        message = current_task.get()
        result = _running_result(declared, message, args, kwargs)
        final = message is None or message.current_retry >= message.max_retries
        if is_async:
            return await _run_async(declared, result, sender, final)
        return await asyncio.to_thread(_run_sync, declared, result, sender, final)

    functools.update_wrapper(run, func)
    signature = inspect.signature(func)
    if declared.takes_context:  # callers never pass the context: the runner does
        signature = signature.replace(parameters=list(signature.parameters.values())[1:])
    # inspect.signature() reads it; the type checker knows no such attribute of a function
    run.__signature__ = signature  # type: ignore[attr-defined]
    return with_connection_cleanup(run, False)


def _running_result(
    declared: Task, message: Message | None, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> TaskResult:
    now = timezone.now()
    if message is None:
        task, result_id, enqueued_at, attempt = declared, "", None, 1
    else:
        task = task_for(declared, message.queue, message.priority)
        result_id, enqueued_at = message.id, message.submitted_at
        attempt = message.current_retry + 1
    return TaskResult(
        task=task,
        id=result_id,
        status=TaskResultStatus.RUNNING,
        enqueued_at=enqueued_at,
        started_at=now,
        finished_at=None,
        last_attempted_at=now,
        args=list(args),
        kwargs=kwargs,
        backend=declared.backend,
        errors=[],
        worker_ids=[worker_id()] * attempt,
    )


def worker_id() -> str:
    """The id of the worker running in this process."""
    worker = runtime.get_app().worker
    return worker.id if worker is not None else f"{socket.gethostname()}:{os.getpid()}"


def _arguments(task: Task, result: TaskResult) -> tuple[Any, ...]:
    if task.takes_context:
        return (TaskContext(task_result=result), *result.args)
    return tuple(result.args)


async def _run_async(task: Task, result: TaskResult, sender: type, final: bool) -> Any:
    _log_failures(task_started, await task_started.asend_robust(sender, task_result=result))
    try:
        value = normalize_json(await task.func(*_arguments(task, result), **result.kwargs))
    except Exception as exc:
        _failed(result, exc, final)
        if final:
            responses = await task_finished.asend_robust(sender, task_result=result)
            _log_failures(task_finished, responses)
        raise
    _succeeded(result, value)
    _log_failures(task_finished, await task_finished.asend_robust(sender, task_result=result))
    return value


def _run_sync(task: Task, result: TaskResult, sender: type, final: bool) -> Any:
    close_old_connections()
    try:
        _log_failures(task_started, task_started.send_robust(sender, task_result=result))
        try:
            value = normalize_json(task.func(*_arguments(task, result), **result.kwargs))
        except Exception as exc:
            _failed(result, exc, final)
            if final:  # inside the handler: Django's receivers log the exception
                responses = task_finished.send_robust(sender, task_result=result)
                _log_failures(task_finished, responses)
            raise
        _succeeded(result, value)
        _log_failures(task_finished, task_finished.send_robust(sender, task_result=result))
        return value
    finally:
        close_old_connections()


def _succeeded(result: TaskResult, value: Any) -> None:
    object.__setattr__(result, "status", TaskResultStatus.SUCCESSFUL)
    object.__setattr__(result, "finished_at", timezone.now())
    set_return_value(result, value)


def _failed(result: TaskResult, exc: Exception, final: bool) -> None:
    cls = type(exc)
    result.errors.append(
        TaskError(
            exception_class_path=f"{cls.__module__}.{cls.__qualname__}",
            traceback="".join(traceback.format_exception(exc)),
        )
    )
    status = TaskResultStatus.FAILED if final else TaskResultStatus.READY
    object.__setattr__(result, "status", status)
    if final:
        object.__setattr__(result, "finished_at", timezone.now())


def _log_failures(signal: Signal, responses: list[tuple[Any, Any]]) -> None:
    for receiver, response in responses:
        if isinstance(response, Exception):
            logger.error(
                "A receiver of Django's task signal (%r) failed",
                receiver,
                exc_info=response,
            )

"""Tasks the Django tests submit; workers started by the tests import them too."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from flowrra.worker import current_task
from flowrra_django import task
from flowrra_django.models import TaskResult


@task
async def add(a: int, b: int) -> int:
    return a + b


@task(max_retries=0)
async def fail(message: str) -> None:
    raise ValueError(message)


@task(max_retries=0)
async def record(path: str, token: str) -> str:
    """Append ``token`` to the file ``path``: a task that ran twice shows up twice."""
    await asyncio.to_thread(_append, path, f"{token} {os.getpid()}\n")
    return token


def _append(path: str, line: str) -> None:
    with open(path, "a") as handle:
        handle.write(line)


@task(max_retries=0)
async def hang_once(marker: str) -> str:
    """Hang on the first delivery (the test kills that worker), return on the next."""
    path = Path(marker)
    if await asyncio.to_thread(path.exists):
        return "recovered"
    await asyncio.to_thread(path.write_text, str(os.getpid()))
    await asyncio.sleep(120)
    return "slept"


@task
async def sleep_then(seconds: float, value: str) -> str:
    await asyncio.sleep(seconds)
    return value


@task
async def count_results() -> int:
    """Uses the async ORM in the worker."""
    return await TaskResult.objects.acount()


@task(cpu_bound=True)
def cpu_count_results() -> int:
    """Uses the ORM in a CPU worker process (proves django.setup() ran there)."""
    return TaskResult.objects.count()


@task(max_retries=3, retry_delay=0.01)
async def flaky(failures: int) -> int:
    """Fail the first ``failures`` attempts, then return the attempt number."""
    attempt = current_task.get()
    assert attempt is not None
    if attempt.current_retry < failures:
        raise ConnectionError(f"attempt {attempt.current_retry} failed")
    return attempt.current_retry


@task
async def noop(x: int) -> int:
    """The benchmarks' task: the same no-op as the peers' ``noop(x) -> x``."""
    return x


@task(ignore_result=True)
async def forget(x: int) -> int:
    """Fire-and-forget: no record unless it fails."""
    return x


@task(cpu_bound=True, max_retries=0)
def cpu_record(path: str, token: str) -> str:
    """``record`` in a CPU pool process, noting its worker's pid."""
    import multiprocessing

    worker = multiprocessing.parent_process()
    _append(path, f"{token} {worker.pid if worker else os.getpid()}\n")
    return token


@task(queue="emails", max_retries=0, retry_delay=5.0)
async def send_receipt(order_id: int, *, copy: bool = False) -> int:
    """A task with options of its own: schedules must not override them by accident."""
    return order_id


@task(cpu_bound=True, max_retries=0)
def cpu_sleep(seconds: float) -> float:
    """Blocks a CPU worker process (remote control terminates it)."""
    time.sleep(seconds)
    return seconds

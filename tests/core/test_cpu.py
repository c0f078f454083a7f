"""CPU-bound tasks run in separate processes that the worker supervises."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest

from flowrra import Flowrra, TaskStatus
from tests.core import tasks


@pytest.fixture
async def cpu_app() -> AsyncIterator[Flowrra]:
    await tasks.cpu_app.start()
    yield tasks.cpu_app
    await tasks.cpu_app.stop(wait=False)


async def test_cpu_task_runs_in_another_process(cpu_app: Flowrra) -> None:
    result = await cpu_app.wait_for_result(await cpu_app.submit(tasks.whoami, 21), timeout=60)
    assert result.is_success
    assert result.result["double"] == 42
    assert result.result["pid"] != os.getpid()
    assert result.result["pid"] in cpu_app.worker.cpu_executor.pids


async def test_cpu_task_exception_keeps_type_message_and_traceback(cpu_app: Flowrra) -> None:
    result = await cpu_app.wait_for_result(
        await cpu_app.submit(tasks.explode, "bad input"), timeout=60
    )
    assert (result.status, result.error_type, result.error) == (
        TaskStatus.FAILED,
        "ValueError",
        "bad input",
    )
    assert "raise ValueError(message)" in result.traceback


async def test_cpu_task_past_its_time_limit_fails_and_the_pool_keeps_serving(
    cpu_app: Flowrra,
) -> None:
    stuck = await cpu_app.submit(tasks.sleepy, 30)
    result = await cpu_app.wait_for_result(stuck, timeout=60)
    assert result.status is TaskStatus.FAILED
    assert result.error == "Task 'sleepy' exceeded its time limit of 0.5 s"
    pool_size = cpu_app.config.executor.cpu_workers
    after = [await cpu_app.submit(tasks.whoami, i) for i in range(pool_size * 2)]
    results = [await cpu_app.wait_for_result(t, timeout=60) for t in after]
    assert all(r.is_success for r in results)
    assert len(cpu_app.worker.cpu_executor.pids) == pool_size


async def test_a_crashed_cpu_process_fails_only_its_task(cpu_app: Flowrra) -> None:
    crashed = await cpu_app.wait_for_result(await cpu_app.submit(tasks.die, 3), timeout=60)
    assert crashed.status is TaskStatus.FAILED
    assert "exited (code 3)" in crashed.error
    healthy = await cpu_app.wait_for_result(await cpu_app.submit(tasks.whoami, 1), timeout=60)
    assert healthy.is_success


async def test_executors_can_be_used_directly() -> None:
    from flowrra import CPUExecutor, IOExecutor, Task

    registry = tasks.cpu_app.registry
    io_app = Flowrra()

    @io_app.task()
    async def shout(word: str) -> str:
        return word.upper()

    cpu = CPUExecutor(tasks.cpu_app.config, registry)
    io = IOExecutor(io_app.config, io_app.registry)
    try:
        assert (await cpu.execute(Task("t1", "whoami", (5,), {})))["double"] == 10
        assert await io.execute(Task("t2", "shout", ("hi",), {})) == "HI"
    finally:
        await cpu.close()
    assert cpu.pids == []

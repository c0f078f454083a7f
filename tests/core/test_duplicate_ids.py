"""A task id that reaches one worker twice (a user-given ``task_id`` reused, or a
redelivery racing the original) runs each time and never costs the worker a task slot."""

from __future__ import annotations

import asyncio
import logging

import pytest

from flowrra import Config, ExecutorConfig, Flowrra, TaskStatus


async def test_a_task_id_submitted_twelve_times_runs_twelve_times_and_keeps_every_slot() -> None:
    app = Flowrra(Config(executor=ExecutorConfig(io_workers=4)))
    ran: list[int] = []
    together = asyncio.Barrier(4)

    @app.task()
    async def order(n: int) -> int:
        await asyncio.sleep(0.01)
        ran.append(n)
        return n

    @app.task(max_retries=0)
    async def four_at_once() -> str:
        async with asyncio.timeout(5):  # fails unless all four slots still serve
            await together.wait()
        return "together"

    async with app:
        for n in range(12):
            await app.options(task_id="order-42").submit(order, n)
        await app.join(timeout=10)
        ids = [await app.submit(four_at_once) for _ in range(4)]
        await app.join(timeout=10)
        results = [await app.get_result(task_id) for task_id in ids]
        last = await app.get_result("order-42")

    assert sorted(ran) == list(range(12))
    assert [r.status for r in results if r is not None] == [TaskStatus.SUCCESS] * 4
    assert last is not None and last.status is TaskStatus.SUCCESS


async def test_a_slot_that_meets_an_internal_error_logs_it_and_keeps_serving(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = Flowrra(Config(executor=ExecutorConfig(io_workers=1)))

    @app.task()
    async def echo(value: int) -> int:
        return value

    async with app:
        worker = app.worker
        assert worker is not None
        writer_succeeded = worker.writer.succeeded
        calls = 0

        def broken_once(*args: object) -> None:
            nonlocal calls
            calls += 1
            if calls == 1:
                raise RuntimeError("bookkeeping failed")
            writer_succeeded(*args)  # type: ignore[arg-type]

        worker.writer.succeeded = broken_once  # type: ignore[method-assign]
        with caplog.at_level(logging.ERROR, logger="flowrra.worker"):
            await app.submit(echo, 1)
            second = await app.submit(echo, 2)
            result = await app.wait_for_result(second, timeout=5)
    assert result.status is TaskStatus.SUCCESS and result.result == 2
    assert "bookkeeping failed" in caplog.text
    assert "the slot goes on" in caplog.text

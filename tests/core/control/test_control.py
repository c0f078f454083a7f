"""Remote control of an in-process worker through the in-memory broker's mailboxes."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from flowrra import Config, ExecutorConfig, Flowrra
from flowrra.control import ControlError, send_command
from flowrra.task import TaskStatus
from tests.core.tasks import cpu_app
from tests.waiting import until


async def test_ping_and_a_command_for_nobody(app: Flowrra) -> None:
    await app.start()
    worker = app.worker
    assert worker is not None
    reply = await send_command(app.broker_required, worker.id, "ping")
    assert reply is not None and reply["ok"] and reply["message"] == "pong"
    assert reply["worker"] == worker.id
    assert await send_command(app.broker_required, "nobody", "ping", timeout=0.2) is None


async def test_bad_commands_are_refused_before_sending(app: Flowrra) -> None:
    await app.start()
    with pytest.raises(ControlError, match="unknown command"):
        await send_command(app.broker_required, "w", "reboot")
    with pytest.raises(ControlError, match="needs value"):
        await send_command(app.broker_required, "w", "io_concurrency", {"value": "8"})


async def test_terminating_a_running_async_task_ends_it_revoked(app: Flowrra) -> None:
    started = asyncio.Event()

    @app.task(max_retries=0)
    async def forever() -> None:
        started.set()
        await asyncio.sleep(3600)

    await app.start()
    task_id = await app.submit(forever)
    await asyncio.wait_for(started.wait(), 10)
    reply = await send_command(
        app.broker_required, app.worker.id, "terminate", {"task_id": task_id}
    )
    assert reply is not None and reply["ok"], reply
    result = await app.wait_for_result(task_id, timeout=10)
    assert result.status is TaskStatus.REVOKED
    assert result.error == "terminated by remote control"
    again = await send_command(
        app.broker_required, app.worker.id, "terminate", {"task_id": task_id}
    )
    assert again is not None and not again["ok"] and "not running" in again["message"]


async def test_io_concurrency_changes_how_many_tasks_run_at_once(app: Flowrra) -> None:
    running = 0
    most = 0
    gate = asyncio.Event()

    @app.task()
    async def hold() -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await gate.wait()
        running -= 1

    await app.start()
    worker = app.worker
    reply = await send_command(app.broker_required, worker.id, "io_concurrency", {"value": 1})
    assert reply is not None and reply["ok"] and "was 4" in reply["message"]
    ids = [await app.submit(hold) for _ in range(6)]
    await asyncio.sleep(0.3)  # time for a second task to start, were the limit not kept
    assert most == 1
    reply = await send_command(app.broker_required, worker.id, "io_concurrency", {"value": 3})
    assert reply is not None and reply["ok"]
    await until(lambda: running == 3, 10, "three tasks to run at once")
    assert most == 3 and worker.info()["concurrency"]["io"] == 3
    gate.set()
    for task_id in ids:
        assert (await app.wait_for_result(task_id, timeout=10)).status is TaskStatus.SUCCESS


async def test_shutdown_stops_the_worker_gracefully() -> None:
    app = Flowrra(Config(executor=ExecutorConfig(io_workers=2)))
    await app.start(worker=False)
    from flowrra.worker import Worker

    worker = Worker(app)
    served = asyncio.create_task(worker.run())
    await until(lambda: worker.is_running, 10, "the worker to start")
    reply = await send_command(app.broker_required, worker.id, "shutdown")
    assert reply is not None and reply["ok"] and "gracefully" in reply["message"]
    await asyncio.wait_for(served, 10)
    assert not worker.is_running
    await app.stop()


async def test_terminating_a_cpu_task_kills_and_replaces_its_process(tmp_path: Path) -> None:
    from tests.core import tasks

    marker = tmp_path / "pid"
    await cpu_app.start()
    try:
        worker = cpu_app.worker
        task_id = await cpu_app.submit(tasks.sleepy_long, 3600, str(marker))
        await until(lambda: marker.exists() and marker.read_text(), 30, "the task to start")
        pid = int(marker.read_text())
        before = set(worker.cpu_executor.pids)
        assert pid in before
        reply = await send_command(
            cpu_app.broker_required, worker.id, "terminate", {"task_id": task_id}
        )
        assert reply is not None and reply["ok"], reply
        result = await cpu_app.wait_for_result(task_id, timeout=30)
        assert result.status is TaskStatus.REVOKED
        after = set(worker.cpu_executor.pids)
        assert pid not in after and len(after) == len(before)
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
        follow = await cpu_app.submit(tasks.whoami, 2)
        assert (await cpu_app.wait_for_result(follow, timeout=30)).result["double"] == 4
    finally:
        await cpu_app.stop(wait=False)

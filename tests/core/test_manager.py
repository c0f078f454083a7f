"""FlowrraManager: the facade the admin, dashboard and CLI read from."""

from __future__ import annotations

import asyncio

from flowrra import Flowrra
from flowrra.management import FlowrraManager
from tests.waiting import until


async def test_stats_listings_and_task_info(app: Flowrra) -> None:
    gate = asyncio.Event()

    @app.task(queue="mail", priority=3)
    async def send(to: str) -> str:
        """Send one e-mail."""
        return to

    @app.task(max_retries=0)
    async def broken() -> None:
        raise ValueError("nope")

    @app.task()
    async def waiting() -> None:
        await gate.wait()

    manager = FlowrraManager(app)
    await app.start()
    sent = await app.submit(send, "a@example.com")
    failed = await app.submit(broken)
    running = await app.submit(waiting)

    async def settled() -> dict | None:
        stats = await manager.get_stats()
        tasks = stats["tasks"]
        return stats if (tasks["success"], tasks["failed"], tasks["running"]) == (1, 1, 1) else None

    stats = await until(settled, 10, "one success, one failure and one running task")
    assert stats["tasks"]["total"] == 3
    assert (stats["tasks"]["success"], stats["tasks"]["failed"], stats["tasks"]["running"]) == (
        1,
        1,
        1,
    )
    assert stats["registered_tasks"] == 3
    assert stats["app"]["running"] is True
    assert [w["queues"] for w in stats["workers"]] == [["*"]]

    assert [t["task_id"] for t in await manager.list_completed_tasks()] == [sent]
    assert [t["task_id"] for t in await manager.list_failed_tasks()] == [failed]
    assert [t["task_id"] for t in await manager.list_running_tasks()] == [running]
    assert await manager.list_pending_tasks() == []
    assert (await manager.get_task_result(failed))["error"] == "nope"
    assert await manager.get_task_result("unknown") is None

    info = await manager.get_task_info("send")
    assert info is not None
    assert (info["queue"], info["priority"], info["doc"]) == ("mail", 3, "Send one e-mail.")
    assert await manager.get_task_info("nope") is None
    assert [t["name"] for t in await manager.list_registered_tasks()] == [
        "broken",
        "send",
        "waiting",
    ]
    gate.set()


async def test_health_check_reports_each_component(app: Flowrra) -> None:
    manager = FlowrraManager(app)
    before = await manager.health_check()
    assert before["status"] == "unhealthy"
    assert before["components"]["broker"]["error"] == "not connected"
    await app.start()
    after = await manager.health_check()
    assert after["status"] == "healthy"
    assert after["components"]["broker"]["ok"] and after["components"]["backend"]["ok"]


async def test_pending_tasks_are_listed_until_a_worker_takes_them() -> None:
    app = Flowrra()

    @app.task()
    async def later() -> None: ...

    manager = FlowrraManager(app)
    await app.start(worker=False)
    ids = [await app.submit(later) for _ in range(3)]
    pending = await manager.list_pending_tasks(limit=2)
    assert [t["task_id"] for t in pending] == ids[::-1][:2]
    assert (await manager.get_stats())["queues"] == {"default": 3}
    await app.stop()

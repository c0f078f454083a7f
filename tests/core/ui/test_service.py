"""UIService over a real in-memory app: what each page would show."""

from __future__ import annotations

import datetime as dt
import time

from flowrra import Flowrra
from flowrra.backends.query import ResultQuery
from flowrra.management import FlowrraManager
from flowrra.scheduler.backends.memory import MemorySchedulerBackend
from flowrra.task import TaskStatus
from flowrra.ui import UIService
from tests.waiting import until


async def test_the_overview_counts_charts_and_lists_what_ran(app: Flowrra) -> None:
    @app.task()
    async def add(a: int, b: int) -> int:
        return a + b

    @app.task(max_retries=0)
    async def broken(url: str) -> None:
        raise ValueError(f"cannot reach {url}")

    app.create_scheduler(MemorySchedulerBackend(), check_interval=3600)
    await app.start()
    await app.scheduler.schedule_cron("add", "*/5 * * * *", (1, 2), name="five")  # type: ignore[union-attr]
    ok = [await app.submit(add, n, 1) for n in range(3)]
    bad = await app.submit(broken, "https://bob:hunter2@example.com/x")
    for task_id in [*ok, bad]:
        await app.wait_for_result(task_id, timeout=5)
    service = UIService(FlowrraManager(app))
    data = await service.get_dashboard_data()
    counts = dict(data["counts"])
    assert counts[TaskStatus.SUCCESS] == 3 and counts[TaskStatus.FAILED] == 1
    assert data["stats"]["tasks"]["total"] == 4
    assert data["finished_last_hour"] == (3, 1)
    assert len(data["throughput"]) == 60
    assert [r.task_id for r in data["recent_failed_tasks"]] == [bad]
    assert [s["name"] for s in data["schedules"]] == ["five"]
    assert data["workers_online"] == 1
    assert {q["queue"] for q in data["queues"]} >= {"default"}
    detail = await service.get_task_detail(bad)
    assert detail is not None
    assert "hunter2" not in detail["error"] and "bob:***@" in detail["error"]
    assert "hunter2" not in detail["args"]
    assert [label for label, _, _ in detail["timeline"]] == ["Submitted", "Started", "Finished"]
    assert detail["registered"] and not detail["can_revoke"]


async def test_huge_values_are_cut_unless_all_is_asked_for(app: Flowrra) -> None:
    @app.task()
    async def echo(text: str) -> str:
        return text

    await app.start()
    task_id = await app.submit(echo, "x" * 50_000)
    await app.wait_for_result(task_id, timeout=5)
    service = UIService(FlowrraManager(app))
    cut = await service.get_task_detail(task_id)
    full = await service.get_task_detail(task_id, full=True)
    assert cut is not None and full is not None
    assert cut["truncated"] and len(cut["result"]) == 4_000
    assert not full["truncated"] and len(full["result"]) > 50_000


async def test_retry_submits_the_same_call_again(app: Flowrra) -> None:
    calls: list[tuple[int, str]] = []

    @app.task(max_retries=0, queue="slow")
    async def work(n: int, label: str = "") -> None:
        calls.append((n, label))

    await app.start()
    service = UIService(FlowrraManager(app))
    first = await app.options(priority=4).submit(work, 7, label="a")
    await app.wait_for_result(first, timeout=5)
    again = await service.retry_task(first)
    assert again is not None and again != first
    result = await app.wait_for_result(again, timeout=5)
    assert result.status is TaskStatus.SUCCESS
    assert calls == [(7, "a"), (7, "a")]
    assert (result.queue, result.priority) == ("slow", 4)
    assert await service.retry_task("no-such-task") is None
    assert await service.revoke_task(again) is False  # finished


async def test_revoke_stops_a_task_no_worker_took_yet(app: Flowrra) -> None:
    @app.task()
    async def later() -> None:
        return None

    await app.start(worker=False)
    service = UIService(FlowrraManager(app))
    task_id = await app.submit(later)
    assert await service.revoke_task(task_id) is True
    result = await app.backend_required.get(task_id)
    assert result is not None and result.status is TaskStatus.REVOKED
    assert await service.revoke_task(task_id) is False


async def test_a_worker_without_heartbeats_shows_offline_then_is_gone(app: Flowrra) -> None:
    await app.start(worker=False)
    broker = app.broker_required
    info = {
        "id": "host:1:aa",
        "hostname": "host",
        "pid": 1,
        "queues": ["default"],
        "active": [],
        "started_at": time.time() - 60,
        "last_heartbeat": time.time(),
    }
    await broker.heartbeat(info, ttl=0.05)
    service = UIService(FlowrraManager(app), worker_retention=0.3)
    [online] = (await service.get_workers_page_data())["workers"]
    assert online.online and online.id == "host:1:aa"

    async def shown_offline() -> bool:
        [worker] = (await service.get_workers_page_data())["workers"]
        return not worker.online

    await until(shown_offline, 5, "the heartbeat to run out")
    detail = await service.get_worker_detail("host:1:aa")
    assert detail is not None and detail["worker"].id == "host:1:aa"
    assert not detail["worker"].online

    async def forgotten() -> bool:
        return (await service.get_workers_page_data())["workers"] == []

    await until(forgotten, 5, "the retention time to pass")


async def test_queues_say_when_the_broker_keeps_no_dead_letters(app: Flowrra) -> None:
    @app.task(queue="mail")
    async def send() -> None:
        return None

    await app.start(worker=False)
    await app.options(countdown=60).submit(send)
    await app.submit(send)
    data = await UIService(FlowrraManager(app)).get_queues_page_data()
    assert data["dead_letters"] is None
    mail = next(q for q in data["queues"] if q["queue"] == "mail")
    assert mail["ready"] == 1
    assert data["scheduled_count"] == 1


async def test_the_tasks_page_pages_by_query(app: Flowrra) -> None:
    @app.task()
    async def noop(n: int) -> int:
        return n

    await app.start()
    submitted = [await app.submit(noop, n) for n in range(5)]
    service = UIService(FlowrraManager(app))
    first = await service.get_tasks_page_data(query=ResultQuery(limit=2))
    assert len(first["tasks"]) == 2 and first["next_cursor"]
    assert first["task_names"] == ["noop"]
    legacy = await service.get_tasks_page_data(status="pending", limit=10)
    assert {t.task_id for t in legacy["tasks"]} <= set(submitted)
    assert dt.datetime.now(dt.UTC) >= first["tasks"][0].submitted_at

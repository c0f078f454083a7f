"""The result query interface, as every backend must answer it (memory, Redis, Django).

Each check stores results in a fresh backend and asserts what a dashboard would show.
"""

from __future__ import annotations

import datetime as dt
import itertools

from flowrra.backends.base import BaseResultBackend
from flowrra.backends.query import ResultQuery
from flowrra.task import TaskResult, TaskStatus

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def make(n: int, status: TaskStatus = TaskStatus.SUCCESS, **fields: object) -> TaskResult:
    """Result ``n``, submitted ``n`` minutes before the newest (``n`` = 0) one."""
    values: dict[str, object] = {
        "task_name": "add",
        "args": (n, "apple"),
        "kwargs": {"tenant": n % 3},
        "submitted_at": NOW - dt.timedelta(minutes=n),
        "queue": "default",
        "worker": "w1",
    }
    values.update(fields)
    return TaskResult(f"task-{n:03d}", status, **values)  # type: ignore[arg-type]


async def store(backend: BaseResultBackend, results: list[TaskResult]) -> None:
    """Store ``results`` as a real run does: PENDING at submit, then their state."""
    await backend.store([result.evolve(TaskStatus.PENDING) for result in results])
    await backend.store(results)


async def ids(backend: BaseResultBackend, **query: object) -> list[str]:
    page = await backend.query(ResultQuery(**query))  # type: ignore[arg-type]
    return [result.task_id for result in page.results]


async def check_pages_walk_every_result_once(backend: BaseResultBackend) -> None:
    tied = NOW - dt.timedelta(minutes=100)
    results = [make(n) for n in range(23)] + [make(n, submitted_at=tied) for n in range(100, 107)]
    await store(backend, results)
    seen: list[str] = []
    cursor = None
    for _ in range(20):
        page = await backend.query(ResultQuery(limit=4, after=cursor))
        seen += [result.task_id for result in page.results]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert len(seen) == 30 and len(set(seen)) == 30
    assert seen[:3] == ["task-000", "task-001", "task-002"]
    oldest = await ids(backend, order="oldest", limit=3)
    assert set(oldest) <= {f"task-{n}" for n in range(100, 107)} and len(oldest) == 3


async def check_filters(backend: BaseResultBackend) -> None:
    await store(
        backend,
        [
            make(0),
            make(1, TaskStatus.FAILED, error="Disk FULL on /var", task_name="backup"),
            make(2, queue="emails", worker="w2", task_name="send"),
            make(3, TaskStatus.PENDING, args=("banana",), worker=None),
            make(90, task_name="backup"),
        ],
    )
    assert await ids(backend, statuses=frozenset({TaskStatus.FAILED})) == ["task-001"]
    both = frozenset({TaskStatus.FAILED, TaskStatus.PENDING})
    assert await ids(backend, statuses=both) == ["task-001", "task-003"]
    assert await ids(backend, task_name="backup") == ["task-001", "task-090"]
    assert await ids(backend, queue="emails") == ["task-002"]
    assert await ids(backend, worker="w2") == ["task-002"]
    recent = NOW - dt.timedelta(minutes=2, seconds=30)
    assert await ids(backend, submitted_from=recent) == ["task-000", "task-001", "task-002"]
    assert await ids(backend, submitted_to=NOW - dt.timedelta(minutes=60)) == ["task-090"]
    assert await ids(backend, search="disk full") == ["task-001"]
    assert await ids(backend, search="banana") == ["task-003"]
    assert await ids(backend, search="task-002") == ["task-002"]
    assert await ids(backend, search="send") == ["task-002"]
    assert await ids(backend, search="nothing like it") == []
    assert await ids(backend, search="%") == []
    both_filters = {"task_name": "backup", "statuses": frozenset({TaskStatus.SUCCESS})}
    assert await ids(backend, **both_filters) == ["task-090"]


async def check_counts_and_throughput(backend: BaseResultBackend) -> None:
    finished = NOW.replace(second=0) - dt.timedelta(minutes=5)
    await store(
        backend,
        [
            make(1, finished_at=finished + dt.timedelta(seconds=10)),
            make(2, finished_at=finished + dt.timedelta(seconds=50)),
            make(3, TaskStatus.FAILED, finished_at=finished + dt.timedelta(seconds=20)),
            make(4, TaskStatus.SUCCESS, finished_at=finished - dt.timedelta(minutes=3)),
            make(5, TaskStatus.RUNNING),
            make(600, TaskStatus.SUCCESS, finished_at=NOW - dt.timedelta(hours=9)),
        ],
    )
    counts = await backend.status_counts(since=NOW - dt.timedelta(hours=1))
    assert counts[TaskStatus.SUCCESS] == 3
    assert counts[TaskStatus.FAILED] == 1
    assert counts[TaskStatus.RUNNING] == 1
    assert (await backend.status_counts())[TaskStatus.SUCCESS] == 4
    since = finished - dt.timedelta(minutes=10)
    points = await backend.throughput(since, NOW)
    assert points[0].minute == since
    minute = dt.timedelta(minutes=1)
    assert all(b.minute - a.minute == minute for a, b in itertools.pairwise(points))
    by_minute = {p.minute: (p.succeeded, p.failed) for p in points}
    assert by_minute[finished] == (2, 1)
    assert by_minute[finished - dt.timedelta(minutes=3)] == (1, 0)
    assert sum(p.succeeded for p in points) == 3

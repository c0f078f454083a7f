"""app.submit_many: many tasks in one write to the result store and one to the broker."""

from __future__ import annotations

import pytest

from flowrra import Flowrra, SubmitOptions, TaskNotFoundError, TaskStatus


async def test_submit_many_runs_each_call_with_its_options(app: Flowrra) -> None:
    seen: list[int] = []

    @app.task(queue="numbers")
    async def remember(n: int) -> int:
        seen.append(n)
        return n * 2

    await app.start()
    ids = await app.submit_many(
        [
            (remember, (1,), {}, None),
            ("remember", [2], {}, SubmitOptions(priority=9, queue="urgent")),
            (remember, (), {"n": 3}, SubmitOptions(max_retries=0)),
        ]
    )
    assert len(set(ids)) == 3
    pending = [await app.get_result(task_id) for task_id in ids]
    assert [(r.status, r.queue, r.priority) for r in pending if r is not None] == [
        (TaskStatus.PENDING, "numbers", 0),
        (TaskStatus.PENDING, "urgent", 9),
        (TaskStatus.PENDING, "numbers", 0),
    ]
    await app.join(timeout=10)
    assert sorted(seen) == [1, 2, 3]
    assert [(await app.wait_for_result(i, 5)).result for i in ids] == [2, 4, 6]
    assert await app.submit_many([]) == []


async def test_one_bad_call_submits_nothing(app: Flowrra) -> None:
    @app.task()
    async def noop(value: object = None) -> None:
        return None

    await app.start()
    with pytest.raises(TaskNotFoundError):
        await app.submit_many([(noop, (), {}, None), ("missing", (), {}, None)])
    with pytest.raises(TypeError, match="cannot be sent as JSON"):
        await app.submit_many([(noop, (), {}, None), (noop, (object(),), {}, None)])
    assert await app.backend_required.list() == []

"""``ignore_result=True``: fire-and-forget tasks run, and only their failures are stored."""

from __future__ import annotations

from flowrra import Flowrra, TaskStatus


async def test_a_fire_and_forget_success_leaves_no_result(app: Flowrra) -> None:
    ran: list[int] = []

    @app.task(ignore_result=True)
    async def ping(n: int) -> int:
        ran.append(n)
        return n

    await app.start()
    task_id = await app.submit(ping, 7)
    assert await app.get_result(task_id) is None  # not even PENDING
    await app.join()
    assert ran == [7]
    assert await app.get_result(task_id) is None
    assert sum((await app.backend_required.counts()).values()) == 0


async def test_a_fire_and_forget_failure_is_stored(app: Flowrra) -> None:
    @app.task(ignore_result=True, max_retries=0)
    async def broken() -> None:
        raise RuntimeError("no luck")

    await app.start()
    task_id = await app.submit(broken)
    await app.join(raise_errors=False)
    failed = await app.get_result(task_id)
    assert failed is not None and failed.status is TaskStatus.FAILED
    assert failed.error == "no luck"


async def test_a_success_after_a_stored_failure_is_stored_too(app: Flowrra) -> None:
    attempts: list[int] = []

    @app.task(ignore_result=True, max_retries=1, retry_delay=0.01)
    async def flaky() -> str:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("first try fails")
        return "done"

    await app.start()
    task_id = await app.submit(flaky)
    await app.join()
    result = await app.get_result(task_id)  # not left RETRYING
    assert result is not None and result.status is TaskStatus.SUCCESS
    assert result.result == "done" and result.retries == 1

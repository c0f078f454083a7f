"""Ordering, retries, time limits, revocation and result expiry, as a user observes them."""

from __future__ import annotations

import asyncio
import time

import pytest

from flowrra import BackendConfig, Config, ExecutorConfig, Flowrra, TaskStatus
from flowrra.failures import retry_backoff
from tests.core.conftest import statuses
from tests.waiting import until


def single_lane_app() -> tuple[Flowrra, asyncio.Event, list]:
    """An app running one task at a time, a gate task holding that lane, and a run log."""
    app = Flowrra(Config(executor=ExecutorConfig(io_workers=1, prefetch=1)))
    gate = asyncio.Event()
    ran: list = []

    @app.task()
    async def hold() -> None:
        await gate.wait()

    @app.task()
    async def record(label: object) -> None:
        ran.append(label)

    return app, gate, ran


async def occupy_the_lane(app: Flowrra) -> None:
    """Submit the gate task and wait until it runs: the lane is busy from then on."""
    held = await app.submit("hold")

    async def running() -> bool:
        result = await app.get_result(held)
        return result is not None and result.status is TaskStatus.RUNNING

    await until(running, 10, "the gate task to start")


async def test_higher_priority_runs_first_and_fifo_within_a_priority() -> None:
    app, gate, ran = single_lane_app()
    async with app:
        await occupy_the_lane(app)
        for label, priority in [("a0", 0), ("b5", 5), ("c9", 9), ("d5", 5), ("e0", 0), ("f9", 9)]:
            await app.options(priority=priority).submit("record", label)
        gate.set()
        await app.join(timeout=5)
    assert ran == ["c9", "f9", "b5", "d5", "a0", "e0"]


async def test_priority_is_honoured_across_queues() -> None:
    app, gate, ran = single_lane_app()
    async with app:
        await occupy_the_lane(app)
        await app.options(queue="bulk", priority=1).submit("record", "bulk-1")
        await app.options(queue="mail", priority=8).submit("record", "mail-8")
        await app.options(priority=4).submit("record", "default-4")
        await app.options(queue="bulk", priority=9).submit("record", "bulk-9")
        gate.set()
        await app.join(timeout=5)
    assert ran == ["bulk-9", "mail-8", "default-4", "bulk-1"]


async def test_retries_are_counted_visible_and_spaced_by_backoff(
    app: Flowrra, events: list
) -> None:
    attempts: list[float] = []

    @app.task(max_retries=3, retry_delay=0.05)
    async def flaky() -> str:
        attempts.append(time.monotonic())
        if len(attempts) < 3:
            raise ConnectionError(f"attempt {len(attempts)}")
        return "ok"

    await app.start()
    task_id = await app.submit(flaky)
    result = await app.wait_for_result(task_id, timeout=10)

    assert result.is_success and result.result == "ok" and result.retries == 2
    assert statuses(events, task_id) == [
        "pending",
        "running",
        "retrying",
        "running",
        "retrying",
        "running",
        "success",
    ]
    updates = [e["task"] for e in events if e["type"] == "task.update"]
    retrying = [t for t in updates if t["status"] == "retrying"]
    assert [r["retries"] for r in retrying] == [1, 2]
    assert retrying[0]["error"] == "attempt 1" and retrying[0]["error_type"] == "ConnectionError"
    # equal jitter: retry n waits between half and all of retry_delay * 2**(n-1)
    assert attempts[1] - attempts[0] >= 0.025
    assert attempts[2] - attempts[1] >= 0.05


async def test_a_task_that_keeps_failing_ends_failed_after_max_retries(app: Flowrra) -> None:
    calls = 0

    @app.task(max_retries=2, retry_delay=0.01)
    async def always_fails() -> None:
        nonlocal calls
        calls += 1
        raise RuntimeError("still broken")

    await app.start()
    result = await app.wait_for_result(await app.submit(always_fails), timeout=10)
    assert (result.status, result.retries, calls) == (TaskStatus.FAILED, 2, 3)
    assert result.error_type == "RuntimeError" and result.error == "still broken"
    assert 'raise RuntimeError("still broken")' in result.traceback


def test_backoff_grows_exponentially_within_its_jitter_band() -> None:
    low = [retry_backoff(2.0, n, rng=lambda: 0.0) for n in (1, 2, 3, 4)]
    high = [retry_backoff(2.0, n, rng=lambda: 1.0) for n in (1, 2, 3, 4)]
    assert low == [1.0, 2.0, 4.0, 8.0]
    assert high == [2.0, 4.0, 8.0, 16.0]
    assert retry_backoff(10.0, 30, rng=lambda: 1.0) == 3600.0


async def test_async_task_past_its_timeout_is_cancelled_and_fails(app: Flowrra) -> None:
    cancelled = asyncio.Event()

    @app.task(timeout=0.05, max_retries=0)
    async def stuck() -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    await app.start()
    result = await app.wait_for_result(await app.submit(stuck), timeout=5)
    assert result.status is TaskStatus.FAILED
    assert result.error_type == "flowrra.exceptions.TaskTimeLimitExceeded"
    assert result.error == "Task 'stuck' exceeded its time limit of 0.05 s"
    assert cancelled.is_set()


async def test_a_task_raising_its_own_timeout_error_is_not_mistaken_for_the_limit(
    app: Flowrra,
) -> None:
    @app.task(timeout=5, max_retries=0)
    async def upstream_timeout() -> None:
        raise TimeoutError("upstream took too long")

    await app.start()
    result = await app.wait_for_result(await app.submit(upstream_timeout), timeout=5)
    assert (result.error_type, result.error) == ("TimeoutError", "upstream took too long")


async def test_revoked_pending_task_never_runs(events: list) -> None:
    app, gate, ran = single_lane_app()
    app.events.subscribe(events.append)
    async with app:
        await occupy_the_lane(app)
        keep = await app.submit("record", "kept")
        drop = await app.submit("record", "dropped")
        assert await app.revoke(drop) is True
        gate.set()
        await app.join(timeout=5)
        assert (await app.get_result(drop)).status is TaskStatus.REVOKED
        assert (await app.wait_for_result(drop, timeout=1)).is_complete
        assert await app.revoke(keep) is False  # already finished
    assert ran == ["kept"]
    assert statuses(events, drop) == ["pending", "revoked"]


async def test_retrying_task_can_be_revoked_before_its_next_attempt(app: Flowrra) -> None:
    calls = 0

    @app.task(max_retries=5, retry_delay=0.4)
    async def fails() -> None:
        nonlocal calls
        calls += 1
        raise RuntimeError("boom")

    retrying = asyncio.Event()
    app.events.subscribe(lambda e: e.get("task", {}).get("status") == "retrying" and retrying.set())
    await app.start()
    task_id = await app.submit(fails)
    await asyncio.wait_for(retrying.wait(), timeout=5)
    assert await app.revoke(task_id)
    await app.join(timeout=5)
    assert calls == 1 and (await app.get_result(task_id)).status is TaskStatus.REVOKED


async def test_memory_results_expire_after_their_ttl() -> None:
    app = Flowrra(Config(backend=BackendConfig(url="memory://", ttl=1)))

    @app.task()
    async def quick() -> int:
        return 1

    async with app:
        task_id = await app.submit(quick)
        assert (await app.wait_for_result(task_id, timeout=5)).is_success

        async def expired() -> bool:
            return await app.get_result(task_id) is None

        await until(expired, 5, "the result to expire")


async def test_non_json_result_fails_the_task_with_a_clear_error(app: Flowrra) -> None:
    @app.task(max_retries=0)
    async def returns_object() -> object:
        return object()

    await app.start()
    result = await app.wait_for_result(await app.submit(returns_object), timeout=5)
    assert result.status is TaskStatus.FAILED
    assert "returned a value that cannot be stored as JSON" in result.error


@pytest.mark.parametrize("wait", [True, False])
async def test_stop_ends_worker_and_executor(wait: bool) -> None:
    app = Flowrra()

    @app.task()
    async def noop() -> None: ...

    await app.start()
    await app.submit(noop)
    await app.stop(wait=wait, timeout=1)
    assert not app.is_running and app.worker is None


async def test_stop_runs_delayed_tasks_and_retries_first_within_its_bound(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = Flowrra()
    runs: list[str] = []

    @app.task(max_retries=1, retry_delay=0.2)
    async def note(label: str) -> None:
        runs.append(label)
        if label == "flaky" and runs.count("flaky") == 1:
            raise ConnectionError("first attempt fails")

    await app.start()
    await app.options(countdown=0.3).submit(note, "later")
    await app.submit(note, "flaky")
    await app.stop(timeout=10)
    assert sorted(runs) == ["flaky", "flaky", "later"]
    assert "lost" not in caplog.text

    bounded = Flowrra()
    bounded.task(name="note")(note)
    await bounded.start()
    await bounded.options(countdown=60).submit("note", "much later")
    started = time.monotonic()
    await bounded.stop(timeout=0.3)
    assert time.monotonic() - started < 5
    assert (
        "Stopping with 1 task(s) left in the in-memory broker: lost "
        "(not done within the 0.3 s bound)" in caplog.text
    )

"""The application API: submit, wait, per-call options, lifecycle, and the errors for bad input."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from flowrra import (
    ExecutorNotRunningError,
    Flowrra,
    ResultNotFoundError,
    TaskFailedError,
    TaskNotFoundError,
    TaskStatus,
    TaskTimeoutError,
)
from tests.core import tasks


async def test_submit_and_wait_returns_the_result(app: Flowrra) -> None:
    @app.task()
    async def add(a: int, b: int) -> int:
        return a + b

    async with app:
        task_id = await app.submit(add, 2, b=3)
        result = await app.wait_for_result(task_id, timeout=5)

    assert result.is_success and result.is_complete
    assert (result.status, result.result, result.task_name) == (TaskStatus.SUCCESS, 5, "add")
    assert result.args == (2,) and result.kwargs == {"b": 3}
    assert result.submitted_at <= result.started_at <= result.finished_at
    assert result.to_dict["status"] == "success" and result.to_dict["runtime"] >= 0


async def test_a_success_reads_the_same_from_an_in_process_store_as_through_store() -> None:
    from flowrra.backends.memory import MemoryBackend

    class StoringBackend(MemoryBackend):  # overrides store: every result goes through it
        async def store(self, results):  # type: ignore[no-untyped-def]
            await super().store(results)

    async def run(backend: MemoryBackend) -> dict:
        app = Flowrra()
        app.backend = backend
        calls = []

        @app.task(max_retries=1, retry_delay=0)
        async def flaky(value: int, *, tag: str) -> dict:
            calls.append(value)
            if len(calls) == 1:
                raise ValueError("once")
            return {"value": value, "tag": tag}

        async with app:
            task_id = await app.submit(flaky, 7, tag="x")
            await app.join()
            result = await app.get_result(task_id)
            assert app.worker is not None and result is not None
            assert result.worker == app.worker.id
        assert result.started_at <= result.finished_at  # type: ignore[operator]
        seen = result.to_dict
        seen.pop("worker")
        for varying in ("task_id", "submitted_at", "started_at", "finished_at", "runtime"):
            seen.pop(varying)
        return seen

    fast, slow = await run(MemoryBackend()), await run(StoringBackend())
    assert fast == slow
    assert (fast["status"], fast["retries"], fast["result"]) == (
        "success",
        1,
        {"value": 7, "tag": "x"},
    )


async def test_submit_by_name_and_get_result_before_and_after(app: Flowrra) -> None:
    @app.task(name="reports.build")
    async def build() -> str:
        return "done"

    await app.start()
    task_id = await app.submit("reports.build")
    first = await app.get_result(task_id)
    assert first is not None and first.status in (TaskStatus.PENDING, TaskStatus.RUNNING)
    await app.join()
    final = await app.get_result(task_id)
    assert final is not None and final.result == "done"


async def test_from_urls_memory_and_is_running() -> None:
    app = Flowrra.from_urls("memory://", "memory://")
    assert not app.is_running
    async with app:
        assert app.is_running
    assert not app.is_running


async def test_submit_on_a_stopped_app_raises() -> None:
    app = Flowrra()

    @app.task()
    async def noop() -> None: ...

    with pytest.raises(ExecutorNotRunningError, match="async with app"):
        await app.submit(noop)


async def test_submit_of_unregistered_function_or_name_raises(app: Flowrra) -> None:
    await app.start()

    async def stray() -> None: ...

    with pytest.raises(TaskNotFoundError, match="stray"):
        await app.submit(stray)
    with pytest.raises(TaskNotFoundError, match="'missing'"):
        await app.submit("missing")
    assert (await app.broker_required.queue_sizes()) == {}


async def test_wait_for_result_past_its_timeout_raises(app: Flowrra) -> None:
    release = asyncio_event()

    @app.task()
    async def slow() -> None:
        await release.wait()

    await app.start()
    task_id = await app.submit(slow)
    with pytest.raises(TaskTimeoutError, match=f"{task_id} did not finish within 0.05 s"):
        await app.wait_for_result(task_id, timeout=0.05)
    release.set()
    assert (await app.wait_for_result(task_id, timeout=5)).is_success


async def test_wait_for_an_unknown_id_raises_instead_of_hanging(app: Flowrra) -> None:
    await app.start()
    with pytest.raises(ResultNotFoundError, match="never submitted"):
        await app.wait_for_result("no-such-id", timeout=1)


async def test_options_never_collide_with_the_task_keywords(app: Flowrra) -> None:
    @app.task()
    async def echo(priority: str, queue: str, countdown: int) -> list:
        return [priority, queue, countdown]

    await app.start()
    plain = await app.submit(echo, priority="p", queue="q", countdown=3)
    tuned = await app.options(priority=9, queue="urgent").submit(
        echo, priority="p", queue="q", countdown=3
    )
    await app.join()
    plain_result = await app.get_result(plain)
    tuned_result = await app.get_result(tuned)
    assert plain_result.result == tuned_result.result == ["p", "q", 3]
    assert (plain_result.priority, plain_result.queue) == (0, "default")
    assert (tuned_result.priority, tuned_result.queue) == (9, "urgent")


async def test_countdown_and_eta_delay_the_task(app: Flowrra) -> None:
    @app.task()
    async def stamp() -> float:
        return time.time()

    await app.start()
    submitted = time.time()
    by_countdown = await app.options(countdown=0.3).submit(stamp)
    by_eta = await app.options(eta=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=0.3)).submit(
        stamp
    )
    assert (await app.get_result(by_countdown)).status is TaskStatus.PENDING
    for task_id in (by_countdown, by_eta):
        result = await app.wait_for_result(task_id, timeout=5)
        assert result.result >= submitted + 0.3


async def test_explicit_task_id(app: Flowrra) -> None:
    @app.task()
    async def noop() -> None: ...

    await app.start()
    assert await app.options(task_id="order-42-receipt").submit(noop) == "order-42-receipt"
    assert (await app.wait_for_result("order-42-receipt", timeout=5)).is_success


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"countdown": 1, "eta": dt.datetime.now(dt.UTC)}, "countdown or eta, not both"),
        ({"countdown": -1}, "countdown must be a number of seconds >= 0"),
        ({"eta": dt.datetime(2030, 1, 1)}, "eta must be timezone-aware"),
        ({"priority": 11}, "priority must be a whole number from 0 to 9"),
        ({"task_id": ""}, "task_id must be a non-empty string"),
    ],
)
def test_bad_options_are_refused_before_anything_is_sent(options: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Flowrra().options(**options)


async def test_join_reraises_the_first_failure_once(app: Flowrra) -> None:
    @app.task(max_retries=0)
    async def broken() -> None:
        raise KeyError("config")

    await app.start()
    task_id = await app.submit(broken)
    with pytest.raises(
        TaskFailedError, match=rf"'broken' \({task_id}\) failed: KeyError: 'config'"
    ):
        await app.join(timeout=5)
    await app.join(timeout=5)  # the failure was reported once


async def test_stop_with_wait_runs_what_is_queued_in_memory() -> None:
    app = Flowrra()
    done: list[int] = []

    @app.task()
    async def record(i: int) -> None:
        done.append(i)

    async with app:
        for i in range(200):
            await app.submit(record, i)
    assert sorted(done) == list(range(200))


async def test_a_task_can_submit_more_tasks_even_when_the_queue_is_full() -> None:
    from flowrra import Config, ExecutorConfig

    app = Flowrra(Config(executor=ExecutorConfig(io_workers=1, max_queue_size=5)))

    @app.task()
    async def leaf(i: int) -> int:
        return i

    @app.task()
    async def fan_out(n: int) -> list[str]:
        return [await app.submit(leaf, i) for i in range(n)]

    async with app:
        parent = await app.wait_for_result(await app.submit(fan_out, 50), timeout=10)
        children = [await app.wait_for_result(t, timeout=10) for t in parent.result]
    assert [c.result for c in children] == list(range(50))


async def test_a_task_declared_cpu_bound_is_registered_as_cpu_bound() -> None:
    """That it runs in another process is checked in tests/core/test_cpu.py."""
    assert tasks.cpu_app.registry.get("whoami").cpu_bound


def asyncio_event():
    import asyncio

    return asyncio.Event()


async def test_a_broker_that_refuses_the_message_fails_the_submit_visibly() -> None:
    from flowrra import BrokerError, FlowrraError
    from flowrra.brokers.memory import MemoryBroker

    class RefusingBroker(MemoryBroker):
        async def enqueue(self, tasks):  # type: ignore[no-untyped-def]
            raise ConnectionError("broker is read-only")

    app = Flowrra()

    @app.task()
    async def noop() -> None: ...

    app.broker = RefusingBroker()
    async with app:
        with pytest.raises(BrokerError, match="could not enqueue task 'noop': broker is read-only"):
            await app.submit(noop)
        [failed] = await app.backend_required.list()
    assert (
        failed.status is TaskStatus.FAILED
        and failed.error == "could not enqueue: broker is read-only"
    )
    assert issubclass(BrokerError, FlowrraError)


async def test_a_backend_that_cannot_store_the_pending_result_fails_the_submit_before_enqueueing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from flowrra import BrokerError
    from flowrra.backends.memory import MemoryBackend

    class FullBackend(MemoryBackend):
        async def store(self, results):  # type: ignore[no-untyped-def]
            raise ConnectionError("backend is down")

    app = Flowrra()

    @app.task()
    async def noop() -> None: ...

    app.backend = FullBackend()
    async with app:
        with pytest.raises(BrokerError, match="could not enqueue task 'noop': backend is down"):
            await app.submit(noop)
        assert await app.broker_required.queue_sizes() in ({}, {"default": 0})
    assert "Could not record 1 unsent task(s) as failed: backend is down" in caplog.text

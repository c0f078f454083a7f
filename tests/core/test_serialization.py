"""The one JSON codec: what round-trips, and what submit refuses."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from decimal import Decimal

import pytest

from flowrra import Flowrra
from flowrra.serialization import dumps, encode_message, loads
from flowrra.task import Task, TaskResult, TaskStatus


def test_rich_types_round_trip_exactly() -> None:
    value = {
        "when": dt.datetime(2026, 3, 29, 2, 30, tzinfo=dt.UTC),
        "day": dt.date(2026, 1, 1),
        "at": dt.time(9, 30),
        "id": uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "price": Decimal("19.99"),
        "blob": b"\x00\xff",
        "tags": {"a"},
        "nested": [1, "two", None, 3.5, True],
    }
    assert loads(dumps(value)) == value
    assert loads(dumps(value).encode()) == value


def test_task_message_and_result_round_trip() -> None:
    task = Task(
        "t1", "send", (1, Decimal("2.5")), {"at": dt.date(2026, 1, 1)}, priority=7, queue="mail"
    )
    assert Task.from_message(loads(dumps(task.to_message()))) == task
    result = TaskResult.for_task(task, TaskStatus.FAILED)
    result.error, result.error_type = "boom", "ValueError"
    assert TaskResult.from_dict(loads(dumps(result.to_dict))) == result


@pytest.mark.parametrize(
    "task",
    [
        Task("t1", "send", (1, "é", 2.5, None, True), {"to": "x"}, eta=1.5, timeout=3.0),
        Task("t2", "send", (dt.datetime(2026, 1, 1, tzinfo=dt.UTC),), {"id": uuid.UUID(int=1)}),
        Task("t3", "send", ([1, 2],), {"n": float("inf")}),
        Task("t4", "send", (2**70,), {}, timeout=float("inf")),
    ],
    ids=["plain", "rich", "nested and infinite", "big integer, infinite timeout"],
)
def test_an_encoded_message_reads_back_as_the_task(task: Task) -> None:
    # plain values go through the fast codec (when installed), the rest through dumps
    assert Task.from_message(loads(encode_message(task))) == task


def test_malformed_message_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="malformed task message"):
        Task.from_message({"name": "x"})


async def test_rich_arguments_reach_the_task_as_the_same_types() -> None:
    app = Flowrra()

    @app.task()
    async def inspect(when: dt.datetime, price: Decimal, ident: uuid.UUID, day: dt.date) -> list:
        return [type(when).__name__, str(price), str(ident), day.isoformat()]

    ident = uuid.uuid4()
    async with app:
        task_id = await app.submit(
            inspect, dt.datetime.now(dt.UTC), Decimal("1.10"), ident, day=dt.date(2026, 2, 3)
        )
        result = await app.wait_for_result(task_id, timeout=5)
    assert result.result == ["datetime", "1.10", str(ident), "2026-02-03"]


async def test_mutating_an_argument_after_submit_does_not_reach_the_task() -> None:
    app = Flowrra()
    gate = asyncio.Event()

    @app.task()
    async def total(items: list[int]) -> int:
        await gate.wait()
        return sum(items)

    items = [1, 2, 3]
    async with app:
        task_id = await app.submit(total, items)
        items.append(100)
        gate.set()
        assert (await app.wait_for_result(task_id, timeout=5)).result == 6


async def test_non_encodable_argument_raises_naming_it_and_nothing_is_enqueued() -> None:
    app = Flowrra()

    @app.task()
    async def store(path: str, handle: object = None) -> None: ...

    async with app:
        with pytest.raises(TypeError, match=r"keyword argument 'handle' cannot be sent as JSON"):
            await app.submit(store, "/tmp/x", handle=open)
        with pytest.raises(TypeError, match=r"positional argument 1 cannot be sent as JSON"):
            await app.submit(store, "/tmp/x", {1, object()})
        assert await app.broker_required.queue_sizes() == {}
        assert await app.backend_required.list() == []

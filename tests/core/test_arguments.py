"""Arguments are bound to the task function's signature at submit and when a schedule is
saved: a wrong call raises ``TypeError`` naming the task, and nothing is stored or enqueued."""

from __future__ import annotations

import pytest

from flowrra import Flowrra
from flowrra.options import SubmitOptions
from flowrra.scheduler import Scheduler
from flowrra.scheduler.backends import MemorySchedulerBackend


def receipt_app() -> Flowrra:
    app = Flowrra()

    @app.task(name="shop.send_receipt")
    async def send_receipt(order_id: int, *, copy: bool = False) -> int:
        return order_id

    return app


async def nothing_recorded(app: Flowrra) -> None:
    assert await app.broker_required.queue_sizes() == {}
    assert await app.broker_required.scheduled_count() == 0
    assert await app.backend_required.list() == []  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("args", "kwargs", "problem"),
    [
        ((1, 2, 3), {}, "too many positional arguments"),
        ((), {}, "missing a required argument: 'order_id'"),
        ((1,), {"colour": "red"}, "got an unexpected keyword argument 'colour'"),
        ((1, True), {}, "too many positional arguments"),  # copy is keyword-only
    ],
)
async def test_submit_with_arguments_the_function_cannot_take_raises(
    args: tuple[object, ...], kwargs: dict[str, object], problem: str
) -> None:
    app = receipt_app()
    async with app:
        with pytest.raises(TypeError) as raised:
            await app.submit("shop.send_receipt", *args, **kwargs)
        message = str(raised.value)
        assert message.startswith("Task 'shop.send_receipt' cannot take these arguments: ")
        assert problem in message
        assert "(it is send_receipt(order_id, *, copy=False))" in message
        with pytest.raises(TypeError, match="too many positional arguments"):
            await app.options(priority=5).submit("shop.send_receipt", 1, 2)
        with pytest.raises(TypeError, match=r"'shop\.send_receipt' cannot take"):
            await app.submit_many(
                [
                    ("shop.send_receipt", (1,), {}, None),
                    ("shop.send_receipt", (1, 2), {}, SubmitOptions()),
                ]
            )
        await nothing_recorded(app)
        good = await app.submit("shop.send_receipt", 7, copy=True)
        assert (await app.wait_for_result(good, timeout=5)).result == 7


async def test_a_schedule_with_arguments_the_function_cannot_take_is_not_saved() -> None:
    app = receipt_app()
    backend = MemorySchedulerBackend()
    scheduler = Scheduler(backend, app=app)
    with pytest.raises(TypeError, match=r"'shop\.send_receipt' cannot take .*too many"):
        await scheduler.schedule_interval("shop.send_receipt", 60, args=[1, 2])
    with pytest.raises(TypeError, match="missing a required argument: 'order_id'"):
        await scheduler.schedule_cron("shop.send_receipt", "* * * * *")
    assert await backend.list_all() == []
    await scheduler.schedule_interval("shop.send_receipt", 60, args=[1], kwargs={"copy": True})
    assert len(await backend.list_all()) == 1

"""What only RedisBackend does: its keys' expiry and its waiter registrations. What every
result backend guarantees is in tests/contract/test_backend.py."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable

import pytest

from flowrra import BackendConfig, TaskResult, TaskStatus, TaskTimeoutError
from flowrra.backends.redis import RedisBackend

from .conftest import Space

Factory = Callable[..., RedisBackend]
T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@pytest.fixture
async def backends(r: Space) -> AsyncIterator[Factory]:
    """Backends in the test's key space, closed at the end."""
    made: list[RedisBackend] = []

    def make(**options: object) -> RedisBackend:
        backend = RedisBackend(BackendConfig(url=r.url, **options))  # type: ignore[arg-type]
        made.append(backend)
        return backend

    yield make
    for backend in made:
        await backend.close()


def result(task_id: str, status: TaskStatus, name: str = "job", minute: int = 0) -> TaskResult:
    submitted = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=minute)
    return TaskResult(task_id, status, name, submitted_at=submitted, result={"id": task_id})


async def test_default_ttl_is_one_day(backends: Factory, r: Space) -> None:
    backend = backends()
    await backend.connect()
    await backend.store([result("a", TaskStatus.FAILED)])
    assert 86_000 < r.client.ttl(r.key("result", "a")) <= 86_400


async def test_a_wait_that_times_out_withdraws_its_registration(
    backends: Factory, r: Space
) -> None:
    backend = backends()
    await backend.connect()
    await backend.store([result("stuck", TaskStatus.RUNNING)])

    with pytest.raises(TaskTimeoutError):
        await backend.wait("stuck", timeout=0.2)
    assert r.client.scard(r.key("waiters", "stuck")) == 0  # the registration is withdrawn

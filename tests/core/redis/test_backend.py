"""What only RedisBackend does: its keys' expiry and its waiter registrations. What every
result backend guarantees is in tests/contract/test_backend.py."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

import flowrra.backends
from flowrra import BackendConfig, TaskResult, TaskStatus, TaskTimeoutError
from flowrra.backends.redis import RedisBackend
from flowrra.task import FINAL_STATES

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


async def test_a_worker_result_reads_back_the_same_from_either_codec(
    backends: Factory, codec: str
) -> None:
    backend = backends()
    await backend.connect()
    stored = result("plain", TaskStatus.SUCCESS)
    stored.args, stored.kwargs, stored.result = (1, "é", 2.5, None), {"n": 2**70}, 7
    stored.started_at = stored.finished_at = T0
    await backend.store([stored])
    assert await backend.get("plain") == stored


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


def test_the_scripts_know_every_status_and_which_are_final() -> None:
    """The Lua prelude spells the statuses out (its counts come back in that order)."""
    prelude = (Path(flowrra.backends.__file__).parent / "lua" / "prelude.lua").read_text()
    listed = re.search(r"local statuses = \{(.*)\}", prelude)
    final = re.search(r"local FINAL = \{(.*)\}", prelude)
    assert listed is not None and final is not None
    assert re.findall(r"'(\w+)'", listed.group(1)) == [status.value for status in TaskStatus]
    assert set(re.findall(r"(\w+) = true", final.group(1))) == {s.value for s in FINAL_STATES}

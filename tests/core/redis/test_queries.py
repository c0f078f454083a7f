"""The query interface of the Redis result backend, on the test Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from flowrra import BackendConfig
from flowrra.backends.redis import RedisBackend
from tests.core.redis.conftest import Space
from tests.core.ui import query_contract as contract


@pytest.fixture
async def backend(r: Space) -> AsyncIterator[RedisBackend]:
    store = RedisBackend(BackendConfig(url=r.url))
    await store.connect()
    yield store
    await store.close()


async def test_pages_walk_every_result_once(backend: RedisBackend) -> None:
    await contract.check_pages_walk_every_result_once(backend)


async def test_filters_and_search(backend: RedisBackend) -> None:
    await contract.check_filters(backend)


async def test_counts_and_throughput(backend: RedisBackend) -> None:
    await contract.check_counts_and_throughput(backend)

"""The query interface of the django:// result backend, on the test database."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from flowrra import BackendConfig
from flowrra.backends import query as q
from flowrra.backends.query import ResultQuery
from flowrra_django.backends import DatabaseBackend
from tests.core.ui import query_contract as contract

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
async def backend() -> AsyncIterator[DatabaseBackend]:
    store = DatabaseBackend(BackendConfig("django://"))
    await store.connect()
    yield store
    await store.close()


async def test_pages_walk_every_result_once(backend: DatabaseBackend) -> None:
    await contract.check_pages_walk_every_result_once(backend)


async def test_filters_and_search(backend: DatabaseBackend) -> None:
    await contract.check_filters(backend)


async def test_counts_and_throughput(backend: DatabaseBackend) -> None:
    await contract.check_counts_and_throughput(backend)


async def test_a_search_reads_a_bounded_window_and_its_cursor_continues_it(
    backend: DatabaseBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(q, "SEARCH_WINDOW", 5)
    results = [contract.make(n) for n in range(12)]
    results[9] = contract.make(9, error="needle in the hay")
    await contract.store(backend, results)
    first = await backend.query(ResultQuery(search="needle"))
    assert first.results == [] and first.search_limited and first.next_cursor is not None
    second = await backend.query(ResultQuery(search="needle", after=first.next_cursor))
    assert [r.task_id for r in second.results] == ["task-009"]


async def test_a_cursor_of_another_backend_is_refused(backend: DatabaseBackend) -> None:
    foreign = q.Cursor(contract.NOW, "task-001")
    with pytest.raises(ValueError, match="cursor"):
        await backend.query(ResultQuery(after=foreign))

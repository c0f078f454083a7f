"""The query interface of the in-memory result backend."""

from __future__ import annotations

import pytest

from flowrra.backends.memory import MemoryBackend
from flowrra.backends.query import Cursor, ResultQuery

from . import query_contract as contract


async def test_pages_walk_every_result_once() -> None:
    await contract.check_pages_walk_every_result_once(MemoryBackend())


async def test_filters_and_search() -> None:
    await contract.check_filters(MemoryBackend())


async def test_counts_and_throughput() -> None:
    await contract.check_counts_and_throughput(MemoryBackend())


def test_a_query_refuses_values_out_of_range() -> None:
    with pytest.raises(ValueError, match="limit"):
        ResultQuery(limit=0)
    with pytest.raises(ValueError, match="limit"):
        ResultQuery(limit=10_000)
    with pytest.raises(ValueError, match="search"):
        ResultQuery(search="x" * 201)
    with pytest.raises(ValueError, match="order"):
        ResultQuery(order="sideways")  # type: ignore[arg-type]


def test_a_cursor_round_trips_and_forgeries_are_refused() -> None:
    cursor = Cursor(contract.NOW, "42")
    assert Cursor.decode(cursor.encode()) == cursor
    for forged in ("", "!!!", "bm90IGpzb24", "WzEsMl0", "WyJub3QgYSBkYXRlIiwiMSJd"):
        with pytest.raises(ValueError, match="cursor"):
            Cursor.decode(forged)

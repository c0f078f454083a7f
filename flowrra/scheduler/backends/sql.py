"""What the PostgreSQL and MySQL schedule stores share: the table, the queries, the claim.

The table is the SQLite store's (``flowrra_schedule``: id, enabled, next run in
microseconds since the epoch, the schedule as JSON), created on first use; the URL's
``table`` option names another one. One connection per store, used by one coroutine at a
time through an async driver, so the event loop never waits on the network.

A pass claims its batch in one transaction: it locks the rows of the batch in id order
(``SELECT ... FOR UPDATE``, so two schedulers never wait on each other in a cycle), keeps
those that are still enabled with the ``next_run`` it read, and writes them back in one
statement. A second scheduler claiming the same rows waits for the first to commit, then
reads the new ``next_run`` and wins nothing: each occurrence is fired once. A beat's pass
commits only after submitting the tasks (:meth:`SQLSchedulerBackend.firing`), so a beat
killed in between leaves the occurrences due for the next pass.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from abc import abstractmethod
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from ...exceptions import ConfigurationError
from ...plugins import mask_url
from ...serialization import dumps, loads
from ..models import ScheduledTask
from .base import BaseSchedulerBackend, Claim
from .sqlite import from_micros, micros

if TYPE_CHECKING:
    from ...app import Flowrra

DEFAULT_TABLE = "flowrra_schedule"
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
#: Claims per locking statement (well under every driver's parameter limit).
_CHUNK = 1000

#: A row written back: (id, enabled, next_run, data).
Row = tuple[str, bool, int | None, str]


def split_table_option(url: str) -> tuple[str, str]:
    """``url`` without its ``table`` option, and the table it names (``flowrra_schedule``)."""
    parts = urlsplit(url)
    options = parse_qsl(parts.query, keep_blank_values=True)
    table = DEFAULT_TABLE
    rest = []
    for key, value in options:
        if key == "table":
            table = value
        else:
            rest.append((key, value))
    if not _IDENTIFIER.match(table):
        raise ConfigurationError(
            f"table={table!r} in {mask_url(url)!r}: a table name is letters, digits and '_'"
        )
    return parts._replace(query=urlencode(rest)).geturl(), table


class SQLSchedulerBackend(BaseSchedulerBackend):
    """Schedules in a server database; subclasses bring the driver and the dialect."""

    #: How ``ORDER BY next_run`` puts unplanned (NULL) rows first.
    nulls_first = ""

    def __init__(self, url: str) -> None:
        self.url, self.table = split_table_option(url)
        self._lock = asyncio.Lock()
        self._connection: Any = None
        self._held: Any = None  # the cursor of the pass in progress (see firing)

    # -- what a dialect provides ---------------------------------------------------------------

    @abstractmethod
    async def _open(self) -> Any:
        """A new connection in autocommit mode, with the table created if missing."""

    @abstractmethod
    async def _close_connection(self, connection: Any) -> None:
        """Close ``connection`` (it may be broken)."""

    @abstractmethod
    def _transaction(self, connection: Any) -> AbstractAsyncContextManager[Any]:
        """Begin a transaction on entry; commit on a clean exit, roll back on an error."""

    @abstractmethod
    def _is_duplicate(self, exc: BaseException) -> bool:
        """True when ``exc`` is a unique-key violation."""

    @abstractmethod
    def _is_disconnect(self, exc: BaseException) -> bool:
        """True when ``exc`` means the connection is gone (it is then reopened)."""

    @abstractmethod
    async def _write_rows(self, cursor: Any, rows: Sequence[Row]) -> None:
        """Overwrite the existing rows ``rows`` in one statement."""

    # -- connection ------------------------------------------------------------------------------

    async def connect(self) -> None:
        async with self._lock:
            if self._connection is None:
                self._connection = await self._open()

    async def close(self) -> None:
        async with self._lock:
            connection, self._connection = self._connection, None
            if connection is not None:
                await self._close_connection(connection)

    @asynccontextmanager
    async def _session(self, transaction: bool = False) -> AsyncIterator[Any]:
        """A cursor (DB-API style, ``%s`` parameters) on the store's connection, for one
        coroutine at a time, in a transaction if asked; a connection
        that broke is dropped, and the next call opens a new one."""
        async with self._lock:
            if self._connection is None:
                self._connection = await self._open()
            try:
                async with AsyncExitStack() as stack:
                    if transaction:
                        await stack.enter_async_context(self._transaction(self._connection))
                    yield await stack.enter_async_context(self._connection.cursor())
            except BaseException as exc:
                if self._is_disconnect(exc) or isinstance(exc, asyncio.CancelledError):
                    connection, self._connection = self._connection, None
                    await self._close_connection(connection)
                raise

    async def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        async with self._session() as cursor:
            await cursor.execute(sql, params)
            return list(await cursor.fetchall())

    async def _execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        async with self._session() as cursor:
            await cursor.execute(sql, params)
            return int(cursor.rowcount)

    async def _tasks(self, sql: str, params: Sequence[Any] = ()) -> list[ScheduledTask]:
        return [ScheduledTask.from_dict(loads(data)) for (data,) in await self._fetch(sql, params)]

    # -- the store -------------------------------------------------------------------------------

    async def create(self, task: ScheduledTask) -> ScheduledTask:
        try:
            await self._execute(
                f"INSERT INTO {self.table} (id, enabled, next_run, data) VALUES (%s, %s, %s, %s)",
                _row(task),
            )
        except Exception as exc:
            if self._is_duplicate(exc):
                raise ValueError(f"a schedule with id {task.id!r} already exists") from None
            raise
        return task

    async def update(self, task: ScheduledTask) -> None:
        id_, enabled, next_run, data = _row(task)
        changed = await self._execute(
            f"UPDATE {self.table} SET enabled = %s, next_run = %s, data = %s WHERE id = %s",
            (enabled, next_run, data, id_),
        )
        if not changed and await self.get(task.id) is None:
            raise ValueError(f"no schedule with id {task.id!r}")

    async def delete(self, task_id: str) -> bool:
        return bool(await self._execute(f"DELETE FROM {self.table} WHERE id = %s", (task_id,)))

    async def get(self, task_id: str) -> ScheduledTask | None:
        found = await self._tasks(f"SELECT data FROM {self.table} WHERE id = %s", (task_id,))
        return found[0] if found else None

    async def list_all(self) -> list[ScheduledTask]:
        return await self._tasks(
            f"SELECT data FROM {self.table} ORDER BY next_run IS NULL, next_run, id"
        )

    async def list_due(self, now: dt.datetime, limit: int) -> list[ScheduledTask]:
        return await self._tasks(
            f"SELECT data FROM {self.table} WHERE enabled = TRUE "
            f"AND (next_run <= %s OR next_run IS NULL) ORDER BY next_run{self.nulls_first}, id "
            "LIMIT %s",
            (micros(now), limit),
        )

    async def next_due_at(self) -> dt.datetime | None:
        rows = await self._fetch(
            f"SELECT next_run FROM {self.table} WHERE enabled = TRUE "
            f"ORDER BY next_run{self.nulls_first} LIMIT 1"
        )
        if not rows:
            return None
        first = rows[0][0]
        return from_micros(0) if first is None else from_micros(int(first))

    @asynccontextmanager
    async def firing(self, app: Flowrra | None) -> AsyncIterator[bool]:
        """One transaction around the pass: its claims commit once its tasks are submitted,
        and the store's other callers wait for it meanwhile."""
        async with self._session(transaction=True) as cursor:
            self._held = cursor
            try:
                yield True
            finally:
                self._held = None

    async def claim(self, claims: Sequence[Claim]) -> set[str]:
        ordered = sorted(claims, key=lambda claim: claim.task_id)
        won: set[str] = set()
        for start in range(0, len(ordered), _CHUNK):
            chunk = ordered[start : start + _CHUNK]
            if self._held is not None:
                won |= await self._claim_chunk(self._held, chunk)
                continue
            async with self._session(transaction=True) as cursor:
                won |= await self._claim_chunk(cursor, chunk)
        return won

    async def _claim_chunk(self, cursor: Any, claims: Sequence[Claim]) -> set[str]:
        places = ", ".join(["%s"] * len(claims))
        await cursor.execute(
            f"SELECT id, next_run, data FROM {self.table} "
            f"WHERE id IN ({places}) AND enabled = TRUE ORDER BY id FOR UPDATE",
            [claim.task_id for claim in claims],
        )
        current = {id_: (next_run, data) for id_, next_run, data in await cursor.fetchall()}
        rows: list[Row] = []
        for claim in claims:
            found = current.get(claim.task_id)
            if found is None or found[0] != micros(claim.expected):
                continue  # another scheduler won it, or it was disabled or deleted
            task = ScheduledTask.from_dict(loads(found[1]))
            claim.apply(task)
            rows.append(_row(task))
        if rows:
            await self._write_rows(cursor, rows)
        return {row[0] for row in rows}

    async def clear(self) -> int:
        return await self._execute(f"DELETE FROM {self.table}")

    def describe(self) -> str:
        table = "" if self.table == DEFAULT_TABLE else f" (table {self.table})"
        return mask_url(self.url) + table


def _row(task: ScheduledTask) -> Row:
    return (task.id, task.enabled, micros(task.next_run_at), dumps(task.to_dict()))

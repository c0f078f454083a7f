"""Schedules in PostgreSQL (``postgresql://user:pass@host:5432/db``), through psycopg 3's
async connection: ``pip install 'flowrra[postgres]'``. See :mod:`.sql` for the claim."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

import psycopg

from .sql import Row, SQLSchedulerBackend


class PostgreSQLSchedulerBackend(SQLSchedulerBackend):
    """The schedule store for ``postgresql://`` and ``postgres://`` URLs; the URL's other
    options (``sslmode``, ``connect_timeout`` ...) go to libpq."""

    nulls_first = " NULLS FIRST"

    async def _open(self) -> psycopg.AsyncConnection[Any]:
        connection = await psycopg.AsyncConnection.connect(self.url, autocommit=True)
        try:
            async with connection.transaction():
                # two schedulers starting together must not both create the table
                await connection.execute(
                    "SELECT pg_advisory_xact_lock(hashtext(%s))", (f"flowrra:{self.table}",)
                )
                await connection.execute(
                    f"CREATE TABLE IF NOT EXISTS {self.table} (id TEXT PRIMARY KEY, "
                    "enabled BOOLEAN NOT NULL, next_run BIGINT, data TEXT NOT NULL)"
                )
                await connection.execute(
                    f"CREATE INDEX IF NOT EXISTS {self.table}_due "
                    f"ON {self.table} (enabled, next_run)"
                )
        except BaseException:
            await connection.close()
            raise
        return connection

    async def _close_connection(self, connection: Any) -> None:
        await connection.close()

    def _transaction(self, connection: Any) -> AbstractAsyncContextManager[Any]:
        return connection.transaction()

    def _is_duplicate(self, exc: BaseException) -> bool:
        return isinstance(exc, psycopg.errors.UniqueViolation)

    def _is_disconnect(self, exc: BaseException) -> bool:
        return isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError)

    async def _write_rows(self, cursor: Any, rows: Sequence[Row]) -> None:
        ids, enabled, next_runs, data = (list(column) for column in zip(*rows, strict=True))
        await cursor.execute(
            f"UPDATE {self.table} AS s SET enabled = v.enabled, next_run = v.next_run, "
            "data = v.data FROM unnest(%s::text[], %s::boolean[], %s::bigint[], %s::text[]) "
            "AS v(id, enabled, next_run, data) WHERE s.id = v.id",
            (ids, enabled, next_runs, data),
        )

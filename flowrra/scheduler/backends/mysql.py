"""Schedules in MySQL 8 or MariaDB 10.6+ (``mysql://user:pass@host:3306/db``), through
aiomysql: ``pip install 'flowrra[mysql]'``. See :mod:`.sql` for the claim.

The session reads committed data (``READ COMMITTED``), so a claim locks the rows it names
and no gaps between them, and a schedule created meanwhile never waits for a claim.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import unquote, urlsplit

import aiomysql
import pymysql

from .sql import Row, SQLSchedulerBackend

_DUPLICATE_KEY = 1062


class MySQLSchedulerBackend(SQLSchedulerBackend):
    """The schedule store for ``mysql://`` and ``mariadb://`` URLs."""

    async def _open(self) -> aiomysql.Connection:
        parts = urlsplit(self.url)
        connection = await aiomysql.connect(
            host=parts.hostname or "localhost",
            port=parts.port or 3306,
            user=unquote(parts.username or "root"),
            password=unquote(parts.password or ""),
            db=unquote(parts.path.lstrip("/")) or None,
            charset="utf8mb4",
            autocommit=True,
        )
        try:
            async with connection.cursor() as cursor:
                await cursor.execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
                # "table already exists" is a note, which the driver would raise as a warning
                await cursor.execute("SET SESSION sql_notes = 0")
                await cursor.execute(
                    f"CREATE TABLE IF NOT EXISTS {self.table} (id VARCHAR(191) PRIMARY KEY, "
                    "enabled BOOLEAN NOT NULL, next_run BIGINT NULL, data LONGTEXT NOT NULL, "
                    f"INDEX {self.table}_due (enabled, next_run)) "
                    "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"
                )
                await cursor.execute("SET SESSION sql_notes = 1")
        except BaseException:
            connection.close()
            raise
        return connection

    async def _close_connection(self, connection: Any) -> None:
        connection.close()

    @asynccontextmanager
    async def _transaction(self, connection: Any) -> AsyncIterator[None]:
        await connection.begin()
        try:
            yield
        except BaseException:
            if not connection.closed:
                await connection.rollback()
            raise
        await connection.commit()

    def _is_duplicate(self, exc: BaseException) -> bool:
        return isinstance(exc, pymysql.err.IntegrityError) and exc.args[:1] == (_DUPLICATE_KEY,)

    def _is_disconnect(self, exc: BaseException) -> bool:
        return isinstance(exc, pymysql.err.OperationalError | pymysql.err.InterfaceError)

    async def _write_rows(self, cursor: Any, rows: Sequence[Row]) -> None:
        # one UPDATE joined to the new values (MySQL 8 deprecates ON DUPLICATE KEY's VALUES())
        values = " UNION ALL ".join(
            ["SELECT %s AS id, %s AS enabled, %s AS next_run, %s AS data"]
            + ["SELECT %s, %s, %s, %s"] * (len(rows) - 1)
        )
        await cursor.execute(
            f"UPDATE {self.table} AS s JOIN ({values}) AS v ON s.id = v.id "
            "SET s.enabled = v.enabled, s.next_run = v.next_run, s.data = v.data",
            [value for row in rows for value in row],
        )

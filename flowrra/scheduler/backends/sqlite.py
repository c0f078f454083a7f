"""Schedules in a SQLite file (standard library ``sqlite3``), the scheduler's default store.

Every statement runs on one dedicated thread, so the event loop never waits on the disk.
Several processes may share the file: a claim is a conditional update inside a
``BEGIN IMMEDIATE`` transaction, so each occurrence is won by exactly one scheduler. A
beat's pass holds that transaction until its tasks are submitted (:meth:`firing`), so a
beat killed in between leaves the occurrence due for the next pass.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, TypeVar

from ...serialization import dumps, loads
from ..models import ScheduledTask
from .base import BaseSchedulerBackend, Claim

if TYPE_CHECKING:
    from ...app import Flowrra

T = TypeVar("T")

DEFAULT_PATH = ".flowrra_schedule.db"
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS flowrra_schedule (
        id TEXT PRIMARY KEY,
        enabled INTEGER NOT NULL,
        next_run INTEGER,
        data TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS flowrra_schedule_due ON flowrra_schedule (enabled, next_run)",
)


def path_from_url(url: str | None) -> str:
    """The file a ``sqlite://`` URL names: ``sqlite:///relative.db``, ``sqlite:////abs.db``,
    ``sqlite:///:memory:``; a plain path is taken as is; None or ``sqlite://`` is
    ``.flowrra_schedule.db`` in the working directory."""
    if url is None:
        return DEFAULT_PATH
    if "://" not in url:
        return url
    scheme, _, rest = url.partition("://")
    if scheme.lower() != "sqlite":
        raise ValueError(f"not a sqlite:// URL: {url!r}")
    path = rest[1:] if rest.startswith("/") else rest
    return path or DEFAULT_PATH


def micros(moment: dt.datetime | None) -> int | None:
    """``moment`` as whole microseconds since the Unix epoch (how stores keep times)."""
    return None if moment is None else (moment - _EPOCH) // _MICROSECOND


def from_micros(value: int) -> dt.datetime:
    """The aware UTC datetime ``value`` microseconds after the Unix epoch."""
    return _EPOCH + value * _MICROSECOND


class SQLiteSchedulerBackend(BaseSchedulerBackend):
    """Schedules in the SQLite file named by ``url`` (see :func:`path_from_url`)."""

    def __init__(self, url: str | None = None) -> None:
        self.path = path_from_url(url)
        self._connection: sqlite3.Connection | None = None
        self._thread: ThreadPoolExecutor | None = None

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if self._thread is None or self._connection is None:
            await self.connect()
        assert self._thread is not None and self._connection is not None
        connection = self._connection
        return await asyncio.get_running_loop().run_in_executor(self._thread, fn, connection)

    async def connect(self) -> None:
        if self._thread is not None:
            return
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="flowrra-schedule-sqlite")
        loop = asyncio.get_running_loop()
        self._connection = await loop.run_in_executor(self._thread, self._open)

    def _open(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        if self.path != ":memory:":
            connection.execute("PRAGMA journal_mode=WAL")
        for statement in _SCHEMA:
            connection.execute(statement)
        return connection

    async def close(self) -> None:
        thread, connection = self._thread, self._connection
        self._thread = self._connection = None
        if thread is None:
            return
        if connection is not None:
            await asyncio.get_running_loop().run_in_executor(thread, connection.close)
        thread.shutdown(wait=False)

    async def create(self, task: ScheduledTask) -> ScheduledTask:
        def insert(db: sqlite3.Connection) -> None:
            try:
                db.execute(
                    "INSERT INTO flowrra_schedule (id, enabled, next_run, data) VALUES (?,?,?,?)",
                    (task.id, task.enabled, micros(task.next_run_at), dumps(task.to_dict())),
                )
            except sqlite3.IntegrityError:
                raise ValueError(f"a schedule with id {task.id!r} already exists") from None

        await self._run(insert)
        return task

    async def update(self, task: ScheduledTask) -> None:
        def write(db: sqlite3.Connection) -> int:
            return _write(db, task)

        if not await self._run(write):
            raise ValueError(f"no schedule with id {task.id!r}")

    async def delete(self, task_id: str) -> bool:
        def remove(db: sqlite3.Connection) -> int:
            return db.execute("DELETE FROM flowrra_schedule WHERE id = ?", (task_id,)).rowcount

        return bool(await self._run(remove))

    async def get(self, task_id: str) -> ScheduledTask | None:
        def read(db: sqlite3.Connection) -> list[ScheduledTask]:
            return _tasks(db, "SELECT data FROM flowrra_schedule WHERE id = ?", (task_id,))

        found = await self._run(read)
        return found[0] if found else None

    async def list_all(self) -> list[ScheduledTask]:
        def read(db: sqlite3.Connection) -> list[ScheduledTask]:
            return _tasks(
                db, "SELECT data FROM flowrra_schedule ORDER BY next_run IS NULL, next_run, id", ()
            )

        return await self._run(read)

    async def list_due(self, now: dt.datetime, limit: int) -> list[ScheduledTask]:
        def read(db: sqlite3.Connection) -> list[ScheduledTask]:
            return _tasks(
                db,
                "SELECT data FROM flowrra_schedule WHERE enabled = 1 "
                "AND (next_run <= ? OR next_run IS NULL) ORDER BY next_run LIMIT ?",
                (micros(now), limit),
            )

        return await self._run(read)

    async def next_due_at(self) -> dt.datetime | None:
        def read(db: sqlite3.Connection) -> tuple[int | None] | None:
            row: tuple[int | None] | None = db.execute(
                "SELECT next_run FROM flowrra_schedule WHERE enabled = 1 ORDER BY next_run LIMIT 1"
            ).fetchone()
            return row

        row = await self._run(read)
        if row is None:
            return None
        return _EPOCH if row[0] is None else from_micros(row[0])

    @contextlib.asynccontextmanager
    async def firing(self, app: Flowrra | None) -> AsyncIterator[bool]:
        """One ``BEGIN IMMEDIATE`` transaction around the pass: its claims commit once its
        tasks are submitted, and other schedulers on the file wait meanwhile."""
        await self._run(_execute("BEGIN IMMEDIATE"))
        try:
            yield True
        except BaseException:
            await self._run(_execute("ROLLBACK"))
            raise
        await self._run(_execute("COMMIT"))

    async def claim(self, claims: Sequence[Claim]) -> set[str]:
        def apply(db: sqlite3.Connection) -> set[str]:
            won: set[str] = set()
            own = not db.in_transaction  # else firing() commits after the submissions
            if own:
                db.execute("BEGIN IMMEDIATE")
            try:
                for claim in claims:
                    found = _tasks(
                        db,
                        "SELECT data FROM flowrra_schedule "
                        "WHERE id = ? AND enabled = 1 AND next_run IS ?",
                        (claim.task_id, micros(claim.expected)),
                    )
                    if found:
                        claim.apply(found[0])
                        _write(db, found[0])
                        won.add(claim.task_id)
                if own:
                    db.execute("COMMIT")
            except BaseException:
                if own:
                    db.execute("ROLLBACK")
                raise
            return won

        return await self._run(apply) if claims else set()

    async def clear(self) -> int:
        def remove(db: sqlite3.Connection) -> int:
            return db.execute("DELETE FROM flowrra_schedule").rowcount

        return await self._run(remove)

    def describe(self) -> str:
        return f"sqlite:///{self.path}"


def _execute(statement: str) -> Callable[[sqlite3.Connection], object]:
    return lambda db: db.execute(statement)


def _tasks(db: sqlite3.Connection, sql: str, params: tuple[object, ...]) -> list[ScheduledTask]:
    return [ScheduledTask.from_dict(loads(data)) for (data,) in db.execute(sql, params)]


def _write(db: sqlite3.Connection, task: ScheduledTask) -> int:
    return db.execute(
        "UPDATE flowrra_schedule SET enabled = ?, next_run = ?, data = ? WHERE id = ?",
        (task.enabled, micros(task.next_run_at), dumps(task.to_dict()), task.id),
    ).rowcount

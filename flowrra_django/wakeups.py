"""What wakes an idle ``django://`` worker when a message arrives, database by database.

An idle worker looks at the queue at most every ``POLL_INTERVAL`` seconds, sooner when this
process enqueued something or was woken (:meth:`Wakeups.set`). Beyond that:

* PostgreSQL (psycopg 3): a connection of its own ``LISTEN``\\ s on :data:`CHANNEL`, on which
  every enqueue sends a ``NOTIFY`` delivered when its transaction commits. Behind a
  transaction pooler (PgBouncer) a notification would go to whichever client the server
  connection serves next, so the listener connects to ``DIRECT_DATABASE_URL`` if set, and
  does not listen through a pooler at all;
* SQLite: the database file and its write-ahead log are watched, as every commit changes them;
* MySQL / MariaDB: the newest message id (one index lookup) is read as often, and a claim
  follows when it grew.

Polling stays the backstop, and is all there is while the listening connection is down.
"""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass
from typing import Any

from django.db import Error as DatabaseError
from django.db import connections
from django.db.backends.sqlite3.base import DatabaseWrapper as SQLiteWrapper
from django.db.models import Max

from . import sql
from .conf import flowrra_settings
from .database_thread import database_thread
from .models import QueuedMessage

logger = logging.getLogger(__name__)

#: The PostgreSQL channel on which enqueues announce new messages.
CHANNEL = "flowrra_queue"
#: The first wait of an idle worker, doubled after each empty look up to ``POLL_INTERVAL``.
FIRST_POLL = 0.01
#: Longest wait before listening again after the listening connection failed, in seconds.
LISTEN_RETRY_MAX = 30.0
#: How often an idle worker on SQLite (MySQL) looks whether the database file (the newest
#: message id) changed, in seconds.
FILE_CHECK = 0.05


@dataclass(frozen=True)
class Mark:
    """What the database looked like just before a claim: a change since means new work."""

    files: tuple[tuple[int, int], ...] = ()
    newest_id: int = 0


class Wakeups:
    """The idle wait of one broker on the database ``alias``: how long, and what ends it."""

    def __init__(self, alias: str) -> None:
        self.alias = alias
        self.poll_interval = float(flowrra_settings()["POLL_INTERVAL"])
        self._arrived = asyncio.Event()
        self._idle_wait = FIRST_POLL
        self._listens = False
        self._listener: asyncio.Task[None] | None = None
        #: SQLite: the database file and its write-ahead log, watched while idle.
        self._files: tuple[str, ...] = ()
        #: MySQL (no LISTEN, no file): an idle worker looks at the newest message id.
        self._probes = False

    def connect(self) -> None:
        """Choose the wake-up of the database's vendor (the connection is open)."""
        connection = connections[self.alias]
        self._listens = connection.vendor == "postgresql"
        self._probes = connection.vendor == "mysql"
        if isinstance(connection, SQLiteWrapper) and not connection.is_in_memory_db():
            name = str(connection.settings_dict["NAME"])
            self._files = (name, f"{name}-wal")

    def set(self) -> None:
        """Something arrived: end the idle wait now."""
        self._arrived.set()

    async def mark(self) -> Mark:
        """Call before each claim; the claim's change marker. Starts listening, once."""
        if self._listens and self._listener is None:
            self._listener = asyncio.get_running_loop().create_task(
                self._listen(), name="flowrra-listen"
            )
        self._arrived.clear()
        newest = await database_thread.run(self._newest_id) if self._probes else 0
        return Mark(_signature(self._files), newest)

    def busy(self) -> None:
        """A claim found work: the next idle wait starts short again."""
        self._idle_wait = FIRST_POLL

    async def idle(self, mark: Mark, left: float) -> None:
        """Wait until something arrived since ``mark``, or the idle wait (at most ``left``
        seconds) ends, which doubles the next one up to ``POLL_INTERVAL``."""
        try:
            async with asyncio.timeout(min(self._idle_wait, left)):
                await self._until_arrived(mark)
        except TimeoutError:
            self._idle_wait = min(self._idle_wait * 2, self.poll_interval)

    async def _until_arrived(self, mark: Mark) -> None:
        if not self._files and not self._probes:
            await self._arrived.wait()
            return
        arrived = asyncio.ensure_future(self._arrived.wait())
        try:
            while not await self._changed_since(mark):
                done, _ = await asyncio.wait({arrived}, timeout=FILE_CHECK)
                if done:
                    return
        finally:
            arrived.cancel()

    async def _changed_since(self, mark: Mark) -> bool:
        if self._probes:
            return await database_thread.run(self._newest_id) != mark.newest_id
        return _signature(self._files) != mark.files

    def _newest_id(self) -> int:
        """MySQL: the newest message id (an index lookup), which every enqueue raises."""
        messages = QueuedMessage.objects.using(self.alias)
        newest: int | None = messages.aggregate(newest=Max("id"))["newest"]
        return newest or 0

    async def _listen(self) -> None:
        """Wake the idle fetch whenever any process enqueues (PostgreSQL ``LISTEN``), on a
        connection of its own; reconnect with back-off while polling carries on."""
        try:
            import psycopg
        except ImportError:  # psycopg2: polling only
            return
        delay = 1.0
        while True:
            try:
                params = await database_thread.run(_listen_params, self.alias)
                if params is None:
                    logger.warning("%s; %s", pooled_warning(self.alias), POOLED_HINT)
                    return
                async with await psycopg.AsyncConnection.connect(**params) as listening:
                    running = await (await listening.execute(sql.BACKEND_PID)).fetchone()
                    if running is None or running[0] != listening.info.backend_pid:
                        logger.warning(
                            "FLOWRRA['DIRECT_DATABASE_URL'] reaches PostgreSQL through a pooler "
                            "too: idle workers poll every %g s; %s",
                            self.poll_interval,
                            POOLED_HINT,
                        )
                        return
                    await listening.execute(f"LISTEN {CHANNEL}")
                    delay = 1.0
                    self._arrived.set()  # whatever came while nobody listened
                    async for _ in listening.notifies():
                        self._arrived.set()
            except (psycopg.Error, OSError, DatabaseError) as exc:
                logger.warning(
                    "Listening for new messages on PostgreSQL failed (%s); polling every %g s "
                    "until it works again, in %g s",
                    exc,
                    self.poll_interval,
                    delay,
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, LISTEN_RETRY_MAX)

    async def close(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.cancel()
            await asyncio.gather(listener, return_exceptions=True)


def _signature(files: tuple[str, ...]) -> tuple[tuple[int, int], ...]:
    """Modification time and size of each of ``files`` (0, 0 for a missing one): a commit
    by any process changes the SQLite database file or its write-ahead log."""
    signature = []
    for name in files:
        try:
            stat = os.stat(name)
        except FileNotFoundError:
            signature.append((0, 0))
        else:
            signature.append((stat.st_mtime_ns, stat.st_size))
    return tuple(signature)


POOLED_HINT = (
    "set FLOWRRA['DIRECT_DATABASE_URL'] to a URL that reaches PostgreSQL without the pooler "
    "(postgres://user:password@db-host:5432/name)"
)


def pooled_warning(alias: str) -> str:
    """What a worker loses when the database ``alias`` is behind a pooler."""
    return (
        f"The database {alias!r} is reached through a connection pooler (PgBouncer?), where "
        "LISTEN does not work: idle django:// workers poll every "
        f"{flowrra_settings()['POLL_INTERVAL']:g} s instead of starting new tasks at once"
    )


def _listen_params(alias: str) -> dict[str, Any] | None:
    """Keyword arguments for ``psycopg.AsyncConnection.connect``: to ``DIRECT_DATABASE_URL``,
    or else to the database ``alias`` as Django connects to it (minus its sync cursor class
    and adapters); None when that is a pooler's."""
    direct = flowrra_settings()["DIRECT_DATABASE_URL"]
    if direct:
        return {"conninfo": direct, "autocommit": True}
    connection = connections[alias]
    if sql.behind_pooler(connection):
        return None
    params = connection.get_connection_params()
    for django_only in ("cursor_factory", "context"):
        params.pop(django_only, None)
    return {**params, "autocommit": True}

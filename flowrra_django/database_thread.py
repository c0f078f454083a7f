"""One thread per process for Flowrra's own ORM calls.

The ``django://`` broker and result backend run their queries here, never on the event
loop. One thread means one database connection per process for them, kept open for the
life of the app (a worker does not reconnect per task, whatever ``CONN_MAX_AGE`` says, as
that setting is about requests); a connection that failed is checked and replaced before
the next call. Task code uses connections of its own. Beside the thread: which database
a ``django://`` URL names, and how to ping and describe it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar, TypeVarTuple
from urllib.parse import urlsplit

from django.db import DEFAULT_DB_ALIAS, connections

T = TypeVar("T")
Ts = TypeVarTuple("Ts")


class DatabaseThread:
    """A single worker thread running ORM calls for async code; shared by reference count."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._executor: ThreadPoolExecutor | None = None

    def acquire(self) -> None:
        """Start the thread for one more user (a broker or backend that connects)."""
        with self._lock:
            self._users += 1
            if self._executor is None:
                self._executor = ThreadPoolExecutor(1, thread_name_prefix="flowrra-db")

    async def release(self) -> None:
        """One user is done; the last one closes the thread's connections and the thread."""
        with self._lock:
            self._users -= 1
            executor = self._executor if self._users <= 0 else None
            if executor is not None:
                self._executor, self._users = None, 0
        if executor is None:
            return
        # at interpreter exit the thread is already stopped, and its connections go with it
        with contextlib.suppress(RuntimeError):
            await asyncio.get_running_loop().run_in_executor(executor, connections.close_all)
        executor.shutdown(wait=False)

    async def run(self, fn: Callable[[*Ts], T], *args: *Ts) -> T:
        """``fn(*args)`` in the database thread, awaited without blocking the loop."""
        executor = self._executor
        if executor is None:
            raise RuntimeError("the Flowrra database thread is not running: connect first")
        return await asyncio.get_running_loop().run_in_executor(executor, _checked, fn, *args)


def _checked(fn: Callable[[*Ts], T], *args: *Ts) -> T:
    for connection in connections.all(initialized_only=True):
        if connection.connection is not None and connection.errors_occurred:
            if connection.is_usable():
                connection.errors_occurred = False
            else:
                connection.close()
    return fn(*args)


#: The process's database thread for the django:// broker and backend.
database_thread = DatabaseThread()


class UsesDatabase:
    """What the ``django://`` broker and backend share: the database their URL names
    (``alias``), reached through :data:`database_thread`."""

    config: Any

    @functools.cached_property
    def alias(self) -> str:
        """The database alias the URL names (``default`` without a config)."""
        return database_alias(self.config.url) if self.config is not None else DEFAULT_DB_ALIAS

    async def connect(self) -> None:
        database_thread.acquire()

    async def close(self) -> None:
        await database_thread.release()

    async def ping(self) -> bool:
        return await database_thread.run(ping_database, self.alias)

    def describe(self) -> str:
        url = self.config.url if self.config is not None else "django://"
        return describe_database(url, self.alias)


def describe_database(url: str, alias: str) -> str:
    """``url`` with the database it names, for banners: ``django:// (sqlite db.sqlite3)``."""
    connection = connections[alias]
    return f"{url} ({connection.vendor} {connection.settings_dict.get('NAME')})"


def database_alias(url: str) -> str:
    """The database alias a ``django://`` URL names: ``django://`` is ``default``,
    ``django://replica`` is ``replica``."""
    return urlsplit(url).netloc or DEFAULT_DB_ALIAS


def ping_database(alias: str) -> bool:
    """True when the database ``alias`` answers a query."""
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT 1")
        return cursor.fetchone() is not None

"""One thread per process for Flowrra's own ORM calls.

The ``django://`` broker and result backend run their queries here, never on the event
loop. One thread means one database connection per process for them, kept open for the
life of the app (a worker does not reconnect per task, whatever ``CONN_MAX_AGE`` says, as
that setting is about requests); a connection that failed is checked and replaced before
the next call. Task code uses connections of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar
from urllib.parse import urlsplit

from django.db import DEFAULT_DB_ALIAS, connections

T = TypeVar("T")


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

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in the database thread, awaited without blocking the loop."""
        executor = self._executor
        if executor is None:
            raise RuntimeError("the Flowrra database thread is not running: connect first")
        return await asyncio.get_running_loop().run_in_executor(executor, _checked, fn, *args)


def _checked(fn: Callable[..., T], *args: Any) -> T:
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

    def __init__(self, config: Any = None) -> None:
        super().__init__(config)
        self.alias = database_alias(config.url) if config is not None else DEFAULT_DB_ALIAS

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


#: What a SQLite database shared by web processes and workers needs: writers that queue
#: (IMMEDIATE transactions, a busy timeout in seconds) and readers that never block them (WAL).
SQLITE_OPTIONS: dict[str, Any] = {
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
    "init_command": "PRAGMA journal_mode=WAL;",
}


def sqlite_problems(alias: str) -> list[str]:
    """What the SQLite database ``alias`` lacks of :data:`SQLITE_OPTIONS` (empty for any
    other database, and for an in-memory one)."""
    settings_dict = connections.settings[alias]
    if not _is_sqlite_file(settings_dict):
        return []
    options = settings_dict.get("OPTIONS") or {}
    problems = []
    mode = str(options.get("transaction_mode") or "DEFERRED").upper()
    if mode != "IMMEDIATE":
        problems.append(f"transaction_mode is {mode!r}, not 'IMMEDIATE'")
    timeout = options.get("timeout", 5)
    if not isinstance(timeout, int | float) or timeout < SQLITE_OPTIONS["timeout"]:
        problems.append(f"timeout is {timeout!r} s, less than {SQLITE_OPTIONS['timeout']}")
    if "journal_mode=wal" not in str(options.get("init_command", "")).lower().replace(" ", ""):
        problems.append("init_command does not set PRAGMA journal_mode=WAL")
    return problems


def tune_sqlite(alias: str) -> None:
    """Give the SQLite database ``alias`` the :data:`SQLITE_OPTIONS` its ``OPTIONS`` leave
    unset, for every connection this process opens from now on (the web process's too, so
    its own transactions and the broker's queue for the write lock instead of failing with
    "database is locked"). Values the project set are kept; the system checks report them."""
    settings_dict = connections.settings[alias]
    if not _is_sqlite_file(settings_dict):
        return
    options = settings_dict.setdefault("OPTIONS", {})
    options.setdefault("transaction_mode", SQLITE_OPTIONS["transaction_mode"])
    options.setdefault("timeout", SQLITE_OPTIONS["timeout"])
    init_command = str(options.get("init_command", "")).strip()
    if "journal_mode" not in init_command.lower():
        joined = f"{init_command.rstrip(';')}; " if init_command else ""
        options["init_command"] = joined + SQLITE_OPTIONS["init_command"]


def _is_sqlite_file(settings_dict: dict[str, Any]) -> bool:
    if settings_dict.get("ENGINE") != "django.db.backends.sqlite3":
        return False
    name = str(settings_dict.get("NAME") or "")
    return bool(name) and name != ":memory:" and "mode=memory" not in name

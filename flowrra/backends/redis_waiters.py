"""Waiting for results from another process without polling and without lost wake-ups.

A waiter runs one script that reads the stored result and, if it is not final yet, adds this
process's token to ``<prefix>:waiters:<task id>``. The store script that writes a final
result pushes it onto ``<prefix>:notify:<token>`` for every registered token. Both scripts
are atomic, so a result is either seen by the check or pushed to the list; and a list, unlike
a pub/sub message, keeps the notification while the reader reconnects. One reader per
process blocks on its list (BLPOP) and wakes the local waiters; after a dropped connection it
reads every waited result again in case a reply was lost in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import AskError, ClusterDownError, TryAgainError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from ..exceptions import TaskTimeoutError
from ..outage import Outage
from ..serialization import loads
from ..task import TaskResult

if TYPE_CHECKING:
    from redis.asyncio.connection import AbstractConnection

    from ..redis_connection import RedisConnection

logger = logging.getLogger(__name__)

Check = Callable[[Sequence[str]], Awaitable[list[TaskResult | None]]]
_NETWORK_ERRORS = (RedisConnectionError, RedisTimeoutError, OSError)
#: A cluster moved the slot (a failover): connect again where it is now.
_MOVED = (AskError, ClusterDownError, TryAgainError)
#: Seconds one BLPOP of the reader blocks before it is issued again.
_BLOCK = 30


class ResultWaiters:
    """The waiters of one process; ``check`` reads stored results (the backend's
    ``get_many``), ``keep`` is how long a registration may outlive its waiter."""

    def __init__(self, redis: RedisConnection, prefix: str, keep: int, check: Check) -> None:
        self._redis = redis
        self._prefix = prefix
        self._keep = keep
        self._check = check
        self._token = secrets.token_hex(8)
        self._register = redis.scripts["register"]
        self._futures: dict[str, list[asyncio.Future[TaskResult]]] = {}
        self._conn: AbstractConnection | None = None
        self._reader: asyncio.Task[None] | None = None

    async def wait(self, task_id: str, timeout: float | None) -> TaskResult:
        """The final result of ``task_id``; ``TaskTimeoutError`` after ``timeout`` seconds."""
        loop = asyncio.get_running_loop()
        if self._reader is None:
            self._reader = loop.create_task(self._read_loop(), name="flowrra-result-waiters")
        future: asyncio.Future[TaskResult] = loop.create_future()
        waiters = self._futures.setdefault(task_id, [])
        waiters.append(future)
        try:
            async with asyncio.timeout(timeout):
                if len(waiters) == 1:
                    raw = await self._redis.runner.script(
                        self._register, [self._prefix, task_id, self._token, self._keep]
                    )
                    if raw:
                        self._resolve(TaskResult.from_dict(loads(raw)))
                return await future
        except TimeoutError:
            raise TaskTimeoutError(task_id, timeout or 0.0) from None
        finally:
            waiters.remove(future)
            if not waiters:
                del self._futures[task_id]
                if future.cancelled() or not future.done():  # not woken: withdraw
                    with contextlib.suppress(*_NETWORK_ERRORS):
                        key = f"{self._prefix}:waiters:{task_id}"
                        await self._redis.runner.execute("SREM", key, self._token)

    def _resolve(self, result: TaskResult) -> None:
        if not result.is_complete:
            return
        for future in self._futures.get(result.task_id, ()):
            if not future.done():
                future.set_result(result)

    async def _read_loop(self) -> None:
        key = f"{self._prefix}:notify:{self._token}"
        outage = Outage(logger, "Result notifications", "Redis")
        recheck = False
        while True:
            try:
                if self._conn is None:
                    self._conn = await self._connect()
                    outage.succeeded()
                if recheck and self._futures:
                    for result in await self._check(list(self._futures)):
                        if result is not None:
                            self._resolve(result)
                recheck = False
                await self._conn.send_command("BLPOP", key, _BLOCK, check_health=False)
                reply = await self._conn.read_response()
            except (*_NETWORK_ERRORS, *_MOVED) as exc:
                await self._disconnect()
                recheck = True
                await asyncio.sleep(outage.failed(exc))
                with contextlib.suppress(*_NETWORK_ERRORS):
                    await self._redis.runner.route.locate()
                continue
            if reply:
                self._resolve(TaskResult.from_dict(loads(reply[1])))

    async def _connect(self) -> AbstractConnection:
        pool = self._redis.runner.route.pool
        # its own connection: BLPOP outlasts the socket timeout, and this loop does retries
        conn = pool.connection_class(
            **{**pool.connection_kwargs, "socket_timeout": None, "retry": Retry(NoBackoff(), 0)}
        )
        await conn.connect()
        return conn

    async def _disconnect(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.disconnect()

    async def close(self) -> None:
        """Stop the reader and close its connection."""
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
            self._reader = None
        await self._disconnect()

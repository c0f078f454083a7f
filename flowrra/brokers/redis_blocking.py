"""The Redis broker's submit from a thread without an event loop (a Django view).

A sync ``submit()`` would otherwise hop to the thread that runs the app's event loop and
wait there for the round trip. :class:`BlockingScripts` sends the very scripts and
arguments of the async path (the result store's and the broker's ``ENQUEUE``, in one
MULTI/EXEC) on a blocking connection of the calling thread: one round trip, no hop.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from ..redis_clients import create_blocking_client
from ..redis_connection import (
    RETRIES,
    ConnectionSettings,
    evalsha,
    lost_scripts,
    transaction_commands,
)
from ..redis_url import RedisTarget

if TYPE_CHECKING:
    from redis.commands.core import AsyncScript


class BlockingScripts:
    """Runs registered scripts in one MULTI/EXEC from any thread, on blocking connections
    to ``target`` (not a cluster; at most ``settings.max_connections``, shared by the
    threads), each script with ``key`` as its one key. A command whose connection fails is
    sent again on a fresh one, as the async runner does."""

    def __init__(self, target: RedisTarget, settings: ConnectionSettings, key: str) -> None:
        self._key = key
        self._client = create_blocking_client(
            target,
            max_connections=settings.max_connections,
            socket_timeout=settings.socket_timeout,
        )
        self._pool = self._client.connection_pool
        self._backoff = ExponentialWithJitterBackoff(cap=1.0, base=0.05)
        self._retryable: tuple[type[Exception], ...] = (RedisConnectionError,)
        if settings.retry_on_timeout:
            self._retryable += (RedisTimeoutError,)

    def in_transaction(self, calls: list[tuple[AsyncScript, list[Any]]]) -> list[Any]:
        """:meth:`CommandRunner.scripts_in_transaction`, blocking the calling thread."""
        replies: list[Any] = self._exchange(transaction_commands(calls, self._key))[-1]
        for i in lost_scripts(replies):
            script, args = calls[i]
            self._exchange([("SCRIPT", "LOAD", script.script)])
            replies[i] = self._exchange([evalsha(script, self._key, args)])[0]
        return replies

    def _exchange(self, commands: list[tuple[Any, ...]]) -> list[Any]:
        """Send ``commands`` in one write and read their replies; an error reply raises once
        every reply is read (the connection stays in step)."""
        failures = 0
        while True:
            conn = self._pool.get_connection()
            try:
                conn.send_packed_command(conn.pack_commands(commands), check_health=False)
                replies: list[Any] = []
                error: ResponseError | None = None
                for _ in commands:
                    try:
                        replies.append(conn.read_response())
                    except ResponseError as exc:
                        error = error or exc
                        replies.append(exc)
            except self._retryable:
                conn.disconnect()
                self._pool.release(conn)
                failures += 1
                if failures > RETRIES:
                    raise
                time.sleep(self._backoff.compute(failures))
                continue
            except BaseException:
                conn.disconnect()  # interrupted mid-reply: the stream is out of step
                self._pool.release(conn)
                raise
            self._pool.release(conn)
            if error is not None:
                raise error
            return replies

    def close(self) -> None:
        """Close every connection (no command may be running)."""
        self._client.close()

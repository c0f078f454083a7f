"""The Redis broker's submit from a thread without an event loop (a Django view).

A sync ``submit()`` would otherwise hop to the thread that runs the app's event loop and
wait there for the round trip. :class:`BlockingScripts` sends the very scripts and
arguments of the async path (the result store's and the broker's ``ENQUEUE``, in one
MULTI/EXEC) on a blocking connection of the calling thread: one round trip, no hop.

A submit's Python costs about as much as its round trip, so this keeps its own idle
connections (redis-py's pool spends more on taking and giving back a connection than on
packing the commands) and packs the commands in one call of hiredis each.
"""

from __future__ import annotations

import os
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

try:
    from hiredis import pack_command
except ImportError:  # pragma: no cover - hiredis (2.1+) ships with flowrra[redis]
    pack_command = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from redis.commands.core import AsyncScript
    from redis.connection import Connection


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
        #: Connections taken from the pool that are in step and free; list.pop and
        #: list.append are atomic, so threads share it without a lock.
        self._idle: list[Connection] = []
        self._pid = os.getpid()
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
        packed = _packed(commands)
        while True:
            conn = self._connection()
            try:
                conn.send_packed_command(packed or conn.pack_commands(commands), check_health=False)
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
            self._idle.append(conn)
            if error is not None:
                raise error
            return replies

    def _connection(self) -> Connection:
        """A free connection: an idle one, or one from the pool (which connects it). A
        process forked since keeps none of its parent's (the pool itself starts afresh)."""
        if self._pid != os.getpid():
            self._idle, self._pid = [], os.getpid()
        try:
            return self._idle.pop()
        except IndexError:
            return self._pool.get_connection()

    def close(self) -> None:
        """Close every connection (no command may be running)."""
        self._idle.clear()
        self._client.close()


def _packed(commands: list[tuple[Any, ...]]) -> list[bytes] | None:
    """``commands`` packed by hiredis, in C; None without hiredis (the connection packs them,
    in Python)."""
    if pack_command is None:
        return None
    return [b"".join([pack_command(command) for command in commands])]

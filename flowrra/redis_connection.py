"""A lean path for the frequent Redis commands of the broker and the result backend.

redis-py's asyncio client spends more CPU per command on its pool checkout (with its
instrumentation), retry wrapper and reply callbacks than on the command itself: about
150-200 us against 60-80 us for the send and the read. :class:`CommandRunner` keeps
redis-py's connections (so AUTH, TLS, the db number and Sentinel discovery stay redis-py's)
and only skips that machinery; it is used for the scripts and the few plain commands on the
hot path, while everything else goes through the ordinary client.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import MaxConnectionsError, NoScriptError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from .plugins import mask_url
from .redis_clients import close_client, create_client
from .redis_url import RedisTarget

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.asyncio.connection import AbstractConnection
    from redis.commands.core import AsyncScript

#: Retries of a command whose connection failed, as redis-py's default.
RETRIES = 3


class CommandRunner:
    """Runs commands on up to ``max_connections`` connections of ``client``'s kind.

    Replies come back raw (bytes, ints, lists; an error reply raises). A command whose
    connection fails is sent again on a fresh one, up to :data:`RETRIES` times with jittered
    back-off, as redis-py does; scripts are loaded again when the server lost them.
    """

    def __init__(
        self, client: Redis, *, max_connections: int, wait_timeout: float, retry_on_timeout: bool
    ) -> None:
        self._pool = client.connection_pool
        self._idle: list[AbstractConnection] = []
        self._opened = 0
        self._max = max_connections
        self._wait_timeout = wait_timeout
        self._freed = asyncio.Event()
        self._backoff = ExponentialWithJitterBackoff(cap=1.0, base=0.05)
        self._retryable: tuple[type[Exception], ...] = (RedisConnectionError,)
        if retry_on_timeout:
            self._retryable += (RedisTimeoutError,)

    async def execute(self, *args: Any, timeout: float | None = None) -> Any:
        """Send one command; ``timeout`` overrides the socket timeout for its reply."""
        return (await self._exchange([args], timeout))[0]

    async def script(self, script: AsyncScript, args: list[Any]) -> Any:
        """Run a registered script by its SHA, loading it first if the server lost it."""
        try:
            return await self.execute("EVALSHA", script.sha, 0, *args)
        except NoScriptError:
            await self.execute("SCRIPT", "LOAD", script.script)
            return await self.execute("EVALSHA", script.sha, 0, *args)

    async def scripts_in_transaction(self, calls: list[tuple[AsyncScript, list[Any]]]) -> list[Any]:
        """Run scripts in order in one MULTI/EXEC: one round trip, and the server runs all of
        them or, when the connection is lost before EXEC arrives, none. A script the server
        had lost (a restart) is loaded and run again on its own, after the others ran."""
        replies = (await self._exchange(transaction_commands(calls)))[-1]
        for i in lost_scripts(replies):
            replies[i] = await self.script(*calls[i])
        return replies

    async def _exchange(
        self, commands: list[tuple[Any, ...]], timeout: float | None = None
    ) -> list[Any]:
        """Send ``commands`` in one write and read their replies; an error reply raises once
        every reply is read (the connection stays in step)."""
        failures = 0
        while True:
            conn = await self._acquire()
            try:
                if not conn.is_connected:
                    await conn.connect()  # not left to the send: Sentinel needs connect() itself
                packed = (
                    conn.pack_command(*commands[0])
                    if len(commands) == 1
                    else conn.pack_commands(commands)
                )
                await conn.send_packed_command(packed, check_health=False)
                replies: list[Any] = []
                error: ResponseError | None = None
                for _ in commands:
                    try:
                        replies.append(await conn.read_response(timeout=timeout))
                    except ResponseError as exc:  # an error reply: the connection itself is fine
                        error = error or exc
                        replies.append(exc)
            except self._retryable:
                await self._discard(conn)
                failures += 1
                if failures > RETRIES:
                    raise
                await asyncio.sleep(self._backoff.compute(failures))
                continue
            except BaseException:
                await self._discard(conn)  # cancelled mid-reply: the stream is out of step
                raise
            self._release(conn)
            if error is not None:
                raise error
            return replies

    async def _acquire(self) -> AbstractConnection:
        deadline: float | None = None
        while True:
            if self._idle:
                return self._idle.pop()
            if self._opened < self._max:
                self._opened += 1
                return self._pool.make_connection()  # connects on its first command
            loop = asyncio.get_running_loop()
            deadline = deadline or loop.time() + self._wait_timeout
            if loop.time() >= deadline:
                raise MaxConnectionsError(
                    f"all {self._max} Redis connections stayed busy for "
                    f"{self._wait_timeout:g} s; raise max_connections"
                )
            self._freed.clear()
            try:
                async with asyncio.timeout_at(deadline):
                    await self._freed.wait()
            except TimeoutError:
                pass

    def _release(self, conn: AbstractConnection) -> None:
        self._idle.append(conn)
        self._freed.set()

    async def _discard(self, conn: AbstractConnection) -> None:
        self._opened -= 1
        self._freed.set()
        await conn.disconnect(nowait=True)

    async def close(self) -> None:
        """Close the idle connections (call when no command is running)."""
        idle, self._idle = self._idle, []
        self._opened -= len(idle)
        for conn in idle:
            await conn.disconnect()


def transaction_commands(calls: list[tuple[AsyncScript, list[Any]]]) -> list[tuple[Any, ...]]:
    """The commands that run the scripts ``calls`` by their SHA in one MULTI/EXEC."""
    return [("MULTI",), *[("EVALSHA", script.sha, 0, *args) for script, args in calls], ("EXEC",)]


def lost_scripts(replies: list[Any]) -> list[int]:
    """The positions in an EXEC reply of the scripts the server had lost (to load and run
    again on their own); any other error reply raises."""
    lost = []
    for i, reply in enumerate(replies):
        if isinstance(reply, NoScriptError):
            lost.append(i)
        elif isinstance(reply, ResponseError):
            raise reply
    return lost


class ConnectionSettings(Protocol):
    """What ``BrokerConfig`` and ``BackendConfig`` both say about connections."""

    max_connections: int
    socket_timeout: float
    retry_on_timeout: bool


class RedisConnection:
    """Everything one component (the broker or the result backend) uses to talk to Redis:
    redis-py's ``client`` for occasional commands, the lean ``runner`` for frequent ones, and
    the component's Lua scripts by name."""

    def __init__(
        self, target: RedisTarget, settings: ConnectionSettings, scripts: Mapping[str, str]
    ) -> None:
        self.client = create_client(
            target,
            max_connections=settings.max_connections,
            socket_timeout=settings.socket_timeout,
            retry_on_timeout=settings.retry_on_timeout,
        )
        self.runner = CommandRunner(
            self.client,
            max_connections=settings.max_connections,
            wait_timeout=settings.socket_timeout,
            retry_on_timeout=settings.retry_on_timeout,
        )
        self.scripts = {name: self.client.register_script(src) for name, src in scripts.items()}

    async def script(self, name: str, *args: Any) -> Any:
        """Run the script ``name`` with ``args`` (its ARGV)."""
        return await self.runner.script(self.scripts[name], list(args))

    async def close(self) -> None:
        """Close every connection (no command may be running)."""
        await self.runner.close()
        await close_client(self.client)


class RedisComponent:
    """What the Redis broker and result backend share: the URL they were made from, their
    connection (opened by ``connect()``), the key prefix, ``ping`` and ``describe``."""

    target: RedisTarget
    prefix: str
    _redis: RedisConnection | None = None

    @property
    def redis(self) -> RedisConnection:
        """The connections and scripts; ``connect()`` first."""
        if self._redis is None:
            raise RuntimeError(
                f"{type(self).__name__} is not connected: await its connect() first "
                "(app.start() does it)"
            )
        return self._redis

    async def _close_redis(self) -> None:
        if self._redis is not None:
            redis, self._redis = self._redis, None
            await redis.close()

    def _key(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    async def ping(self) -> bool:
        return bool(await self.redis.client.ping())

    def describe(self) -> str:
        return mask_url(self.target.url)

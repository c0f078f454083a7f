"""A lean path for the frequent Redis commands of the broker and the result backend.

redis-py's asyncio client spends more CPU per command on its pool checkout (with its
instrumentation), retry wrapper and reply callbacks than on the command itself: about
150-200 us against 60-80 us for the send and the read. :class:`CommandRunner` keeps
redis-py's connections (so AUTH, TLS, the db number and Sentinel discovery stay redis-py's)
and only skips that machinery; it is used for the scripts and the few plain commands on the
hot path, while everything else goes through the ordinary client. On a Redis Cluster it sends
everything to the master of its component's hash slot (see :mod:`.redis_cluster`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from redis.asyncio import Redis
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import (
    AskError,
    ClusterDownError,
    MasterDownError,
    MaxConnectionsError,
    NoScriptError,
    ResponseError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from .plugins import mask_url
from .redis_clients import close_client, create_client, create_node_pool
from .redis_cluster import FixedRoute, SlotRoute
from .redis_url import RedisTarget

if TYPE_CHECKING:
    from redis.asyncio.connection import AbstractConnection
    from redis.commands.core import AsyncScript

#: Replies of a cluster in the middle of a failover: worth trying again shortly.
_CLUSTER_BUSY = (ClusterDownError, MasterDownError, TryAgainError)

#: Retries of a command whose connection failed, as redis-py's default.
RETRIES = 3


class CommandRunner:
    """Runs commands on up to ``max_connections`` connections that ``route`` leads to.

    Replies come back raw (bytes, ints, lists; an error reply raises). A command whose
    connection fails is sent again on a fresh one, up to :data:`RETRIES` times with jittered
    back-off, as redis-py does; scripts are loaded again when the server lost them. On a
    cluster, a ``MOVED`` reply is followed at once, and a failed connection or a cluster in
    the middle of a failover makes the route ask where the slot is before the next try.
    Scripts name ``key`` as their one key, which puts them in its slot.
    """

    def __init__(
        self,
        route: FixedRoute | SlotRoute,
        key: str,
        *,
        max_connections: int,
        wait_timeout: float,
        retry_on_timeout: bool,
    ) -> None:
        self.route = route
        self._key = key
        self._idle: list[AbstractConnection] = []
        self._opened = 0
        self._max = max_connections
        self._wait_timeout = wait_timeout
        self._freed = asyncio.Event()
        self._backoff = ExponentialWithJitterBackoff(cap=1.0, base=0.05)
        self._retryable: tuple[type[Exception], ...] = (RedisConnectionError,)
        if retry_on_timeout:
            self._retryable += (RedisTimeoutError,)

    async def execute(
        self, *args: Any, timeout: float | None = None, retries: int = RETRIES
    ) -> Any:
        """Send one command; ``timeout`` overrides the socket timeout for its reply, and
        ``retries`` the times it is sent again when its connection fails."""
        return (await self._exchange([args], timeout, retries))[0]

    async def script(self, script: AsyncScript, args: list[Any]) -> Any:
        """Run a registered script by its SHA, loading it first if the server lost it."""
        try:
            return await self.execute(*evalsha(script, self._key, args))
        except NoScriptError:
            await self.execute("SCRIPT", "LOAD", script.script)
            return await self.execute(*evalsha(script, self._key, args))

    async def scripts_in_transaction(self, calls: list[tuple[AsyncScript, list[Any]]]) -> list[Any]:
        """Run scripts in order in one MULTI/EXEC: one round trip, and the server runs all of
        them or, when the connection is lost before EXEC arrives, none. A script the server
        had lost (a restart) is loaded and run again on its own, after the others ran."""
        replies = (await self._exchange(transaction_commands(calls, self._key)))[-1]
        for i in lost_scripts(replies):
            replies[i] = await self.script(*calls[i])
        return replies

    async def _exchange(
        self, commands: list[tuple[Any, ...]], timeout: float | None = None, retries: int = RETRIES
    ) -> list[Any]:
        """Send ``commands`` in one write and read their replies; an error reply raises once
        every reply is read (the connection stays in step)."""
        failures = redirects = 0
        if not self.route.mapped:  # a cluster's map, once: where the slot is, and every node
            await self._locate()
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
                if failures > retries:
                    raise
                await asyncio.sleep(self._backoff.compute(failures))
                await self._locate()
                continue
            except BaseException:
                await self._discard(conn)  # cancelled mid-reply: the stream is out of step
                raise
            self._release(conn)
            moved = next((r for r in replies if isinstance(r, AskError)), None)
            if moved is not None and redirects < RETRIES:
                # nothing ran: a command or a transaction's queued command was refused
                redirects += 1
                self.route.moved(moved)
                self._drop_idle()
                continue
            if isinstance(error, _CLUSTER_BUSY) and failures < retries:
                failures += 1
                await asyncio.sleep(self._backoff.compute(failures))
                await self._locate()
                continue
            if error is not None:
                raise error
            return replies

    async def _locate(self) -> None:
        """Let the route find its node again (a cluster may have failed over)."""
        try:
            await self.route.locate()
        except self._retryable:
            return  # the next try fails as well and says why
        self._drop_idle()

    async def _acquire(self) -> AbstractConnection:
        deadline: float | None = None
        while True:
            if self._idle:
                return self._idle.pop()
            if self._opened < self._max:
                self._opened += 1
                return self.route.pool.make_connection()  # connects on its first command
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
        if not self.route.serves(conn):  # the slot moved while it was out
            self._opened -= 1
            self._freed.set()
            asyncio.get_running_loop().create_task(conn.disconnect(nowait=True))
            return
        self._idle.append(conn)
        self._freed.set()

    def _drop_idle(self) -> None:
        """Close the idle connections that go to a node no longer serving the slot."""
        keep = [conn for conn in self._idle if self.route.serves(conn)]
        for conn in self._idle:
            if conn not in keep:
                self._opened -= 1
                asyncio.get_running_loop().create_task(conn.disconnect(nowait=True))
        self._idle = keep

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


def transaction_commands(
    calls: list[tuple[AsyncScript, list[Any]]], key: str
) -> list[tuple[Any, ...]]:
    """The commands that run the scripts ``calls`` by their SHA in one MULTI/EXEC, each with
    ``key`` (the component's prefix, naming its cluster slot) as its one key."""
    return [("MULTI",), *[evalsha(script, key, args) for script, args in calls], ("EXEC",)]


def evalsha(script: AsyncScript, key: str, args: list[Any]) -> tuple[Any, ...]:
    """The command that runs ``script`` by its SHA with ``key`` (the component's prefix,
    naming its cluster slot) as its one key and ``args`` as its ARGV."""
    return ("EVALSHA", script.sha, 1, key, *args)


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
    the component's Lua scripts by name. ``prefix`` is the component's key prefix: on a
    cluster, the runner goes to the master of its slot."""

    def __init__(
        self,
        target: RedisTarget,
        settings: ConnectionSettings,
        scripts: Mapping[str, str],
        prefix: str,
    ) -> None:
        self.client = create_client(
            target,
            max_connections=settings.max_connections,
            socket_timeout=settings.socket_timeout,
            retry_on_timeout=settings.retry_on_timeout,
        )
        route: FixedRoute | SlotRoute
        if isinstance(self.client, Redis):
            route = FixedRoute(self.client.connection_pool)
        else:
            route = SlotRoute(
                target.cluster_nodes,
                prefix,
                lambda host, port: create_node_pool(
                    target,
                    host,
                    port,
                    max_connections=settings.max_connections,
                    socket_timeout=settings.socket_timeout,
                    retry_on_timeout=settings.retry_on_timeout,
                ),
            )
        self.runner = CommandRunner(
            route,
            prefix,
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
        # through the runner: on a cluster, redis-py's client would first read the whole
        # slot map and command table, at every worker's start, for one PING; sent once, so
        # that a server that is down is reported at once (the caller decides to wait)
        return bool(await self.redis.runner.execute("PING", retries=0))

    def describe(self) -> str:
        return mask_url(self.target.url)

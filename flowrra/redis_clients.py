"""redis-py clients for a parsed Redis URL (see :mod:`.redis_url`): asyncio clients whose
connections pack commands with hiredis (redis-py's asyncio connections pack them in Python,
which costs several times more for the long argument lists of batched scripts), and blocking
ones for code without an event loop; a cluster URL gives a ``RedisCluster``.
"""

from __future__ import annotations

from typing import Any

import redis
import redis.asyncio
from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.connection import AbstractConnection
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import DataError, RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from .redis_url import RedisTarget

try:
    import hiredis

    HIREDIS_PACKING = hasattr(hiredis, "pack_command")
except ImportError:  # pragma: no cover - hiredis ships with flowrra[redis]
    HIREDIS_PACKING = False


#: An asyncio client of either kind; both have the same command methods.
RedisClient = Redis | RedisCluster


def create_client(
    target: RedisTarget,
    *,
    max_connections: int,
    socket_timeout: float,
    retry_on_timeout: bool = True,
) -> RedisClient:
    """A redis-py asyncio client for ``target`` (a ``RedisCluster`` for a cluster URL) with at
    most ``max_connections`` connections (per node of a cluster); a command whose connection
    drops is retried three times with jittered back-off before the error reaches the caller.
    Its connections pack commands with hiredis, save a cluster client's."""
    retry = _retry(retry_on_timeout)
    if target.cluster_nodes:
        kwargs = _connection_kwargs(target, socket_timeout, retry=retry)
        return RedisCluster(
            startup_nodes=[ClusterNode(host, port) for host, port in target.cluster_nodes],
            max_connections=max_connections,
            **kwargs,
        )
    client: Redis = _client(redis.asyncio, target, max_connections, socket_timeout, retry=retry)
    return client


def create_node_pool(
    target: RedisTarget,
    host: str,
    port: int,
    *,
    max_connections: int,
    socket_timeout: float,
    retry_on_timeout: bool = True,
) -> ConnectionPool:
    """A pool of connections to one node of ``target``'s cluster, as :func:`create_client`
    makes them for a single Redis."""
    kwargs = _connection_kwargs(target, socket_timeout, retry=_retry(retry_on_timeout))
    pool: ConnectionPool = _pool(
        redis.asyncio, {**kwargs, "host": host, "port": port}, max_connections
    )
    return pool


def create_blocking_client(
    target: RedisTarget, *, max_connections: int, socket_timeout: float
) -> redis.Redis:
    """A blocking ``redis.Redis`` for ``target``, safe to share between threads, for code
    without an event loop; its callers retry a failed command themselves. Not for a
    cluster URL."""
    client: redis.Redis = _client(redis, target, max_connections, socket_timeout)
    return client


def _retry(on_timeout: bool) -> Retry:
    errors: tuple[type[RedisError], ...] = (RedisConnectionError,)
    if on_timeout:
        errors += (RedisTimeoutError,)
    return Retry(ExponentialWithJitterBackoff(cap=1.0, base=0.05), 3, errors)


def _connection_kwargs(
    target: RedisTarget, socket_timeout: float, **options: Any
) -> dict[str, Any]:
    kwargs: dict[str, Any] = {**target.connection, "socket_timeout": socket_timeout, **options}
    if "path" not in kwargs:
        kwargs.setdefault("socket_connect_timeout", socket_timeout)
    return kwargs


def _client(
    api: Any, target: RedisTarget, max_connections: int, socket_timeout: float, **options: Any
) -> Any:
    """A client of redis-py's ``api`` (``redis.asyncio`` or ``redis``, which name their
    classes alike) for ``target``."""
    kwargs = _connection_kwargs(target, socket_timeout, **options)
    if target.sentinels:
        sentinel = api.Sentinel(
            list(target.sentinels),
            sentinel_kwargs={**target.sentinel_auth, "socket_timeout": socket_timeout},
            **kwargs,
        )
        assert target.service_name is not None
        return sentinel.master_for(target.service_name, max_connections=max_connections)
    return api.Redis.from_pool(_pool(api, kwargs, max_connections))


def _pool(api: Any, kwargs: dict[str, Any], max_connections: int) -> Any:
    """A connection pool of ``api`` (see :func:`_client`) with ``kwargs``."""
    kwargs = dict(kwargs)
    connection_class = api.Connection
    if "path" in kwargs:
        connection_class = api.UnixDomainSocketConnection
    elif kwargs.pop("ssl", False):
        connection_class = api.SSLConnection
    if api is redis.asyncio:  # the blocking connections pack with hiredis already
        connection_class = _with_fast_packing(connection_class)
    return api.ConnectionPool(
        max_connections=max_connections, connection_class=connection_class, **kwargs
    )


class _HiredisPacking:
    """Packs commands with hiredis, in C (mixed into redis-py's connection classes)."""

    def pack_command(self, *args: Any) -> list[bytes]:
        if isinstance(args[0], str):
            args = (*args[0].encode().split(), *args[1:])
        elif b" " in args[0]:
            args = (*args[0].split(), *args[1:])
        try:
            return [hiredis.pack_command(args)]
        except TypeError:
            args = tuple(bytes(a) if isinstance(a, bytearray | memoryview) else a for a in args)
            try:
                return [hiredis.pack_command(args)]
            except TypeError as exc:
                raise DataError(str(exc)) from None


_FAST: dict[type[AbstractConnection], type[AbstractConnection]] = {}


def _with_fast_packing(cls: type[AbstractConnection]) -> type[AbstractConnection]:
    if not HIREDIS_PACKING:
        return cls
    if cls not in _FAST:
        _FAST[cls] = type(cls.__name__, (_HiredisPacking, cls), {})
    return _FAST[cls]


async def close_client(client: RedisClient) -> None:
    """Close ``client``'s connections, and those to the Sentinels it asked for the master."""
    await client.aclose()
    manager = getattr(getattr(client, "connection_pool", None), "sentinel_manager", None)
    for sentinel in getattr(manager, "sentinels", ()):
        await sentinel.aclose()

"""redis-py clients for a parsed Redis URL (see :mod:`.redis_url`), whose connections pack
commands with hiredis: redis-py's asyncio connections pack them in Python, which costs
several times more for the long argument lists of batched scripts.
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.connection import (
    AbstractConnection,
    Connection,
    SSLConnection,
    UnixDomainSocketConnection,
)
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
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


#: A client of either kind; both have the same command methods.
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
    kwargs = _connection_kwargs(target, socket_timeout, retry_on_timeout)
    if target.sentinels:
        sentinel = Sentinel(
            list(target.sentinels),
            sentinel_kwargs={**target.sentinel_auth, "socket_timeout": socket_timeout},
            **kwargs,
        )
        assert target.service_name is not None
        return sentinel.master_for(target.service_name, max_connections=max_connections)
    if target.cluster_nodes:
        return RedisCluster(
            startup_nodes=[ClusterNode(host, port) for host, port in target.cluster_nodes],
            max_connections=max_connections,
            **kwargs,
        )
    return Redis.from_pool(_pool(kwargs, max_connections))


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
    kwargs = _connection_kwargs(target, socket_timeout, retry_on_timeout)
    return _pool({**kwargs, "host": host, "port": port}, max_connections)


def _connection_kwargs(
    target: RedisTarget, socket_timeout: float, retry_on_timeout: bool
) -> dict[str, Any]:
    errors: tuple[type[RedisError], ...] = (RedisConnectionError,)
    if retry_on_timeout:
        errors += (RedisTimeoutError,)
    kwargs: dict[str, Any] = dict(target.connection)
    kwargs.update(
        socket_timeout=socket_timeout,
        retry=Retry(ExponentialWithJitterBackoff(cap=1.0, base=0.05), 3, errors),
    )
    if "path" not in kwargs:
        kwargs.setdefault("socket_connect_timeout", socket_timeout)
    return kwargs


def _pool(kwargs: dict[str, Any], max_connections: int) -> ConnectionPool:
    kwargs = dict(kwargs)
    connection_class: type[AbstractConnection] = Connection
    if "path" in kwargs:
        connection_class = UnixDomainSocketConnection
    elif kwargs.pop("ssl", False):
        connection_class = SSLConnection
    return ConnectionPool(
        max_connections=max_connections,
        connection_class=_with_fast_packing(connection_class),
        **kwargs,
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

"""Redis URLs: the one place where broker and result backend URLs are read.

Accepted URLs (a password in the user part, a db number in the path)::

    redis://[[user]:password@]host[:port][/db][?option=value...]
    rediss://...                                   TLS, same form
    unix://[[user]:password@]/path/to/redis.sock[?db=N&...]
    redis+sentinel://[[user]:password@]host:26379[,host2:26379...]/service_name[/db][?...]
    redis+cluster://[[user]:password@]host:port[,host2:port...][/][?shards=N&...]
    rediss+cluster://...                           Redis Cluster over TLS, same form

A ``redis+cluster://`` URL names some nodes of a Redis Cluster (the rest are discovered).
Its key prefix always carries a hash tag (``{flowrra}`` by default; a prefix without braces
is wrapped in them), so every key of one Flowrra app lives in one slot and the Lua scripts run
unchanged; ``shards=N`` spreads the broker's queues over N hash tags (see
:mod:`.redis_cluster`).

Options in the query string: ``key_prefix`` (default ``flowrra``), ``socket_connect_timeout``,
``health_check_interval``, ``client_name``, ``db``, the TLS options ``ssl_cert_reqs``
(required/optional/none), ``ssl_ca_certs``, ``ssl_certfile``, ``ssl_keyfile``,
``ssl_check_hostname``, for Sentinel ``sentinel_username`` / ``sentinel_password``, and for
a cluster ``shards``.
A component may accept more (the broker takes ``visibility_timeout.<queue>``).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from .config import parse_bool
from .exceptions import ConfigurationError
from .plugins import mask_url

DEFAULT_KEY_PREFIX = "flowrra"
_KEY_PREFIX = re.compile(r"^[A-Za-z0-9_.:{}-]{1,64}$")


def _cert_reqs(raw: str) -> str:
    if raw.lower() not in {"required", "optional", "none"}:
        raise ValueError("expected required, optional or none")
    return raw.lower()


def _db(raw: str) -> int:
    value = int(raw)
    if value < 0:
        raise ValueError("must be >= 0")
    return value


#: Query options passed to redis-py, with their parsers.
_CONNECTION_OPTIONS: dict[str, Callable[[str], Any]] = {
    "db": _db,
    "socket_connect_timeout": float,
    "health_check_interval": int,
    "client_name": str,
    "ssl_cert_reqs": _cert_reqs,
    "ssl_ca_certs": str,
    "ssl_certfile": str,
    "ssl_keyfile": str,
    "ssl_check_hostname": parse_bool,
}
_SENTINEL_OPTIONS = ("sentinel_username", "sentinel_password")
_CLUSTER_SCHEMES = ("redis+cluster", "rediss+cluster")


@dataclass(frozen=True)
class RedisTarget:
    """A parsed Redis URL: how to connect, plus the Flowrra options it carried."""

    url: str
    connection: dict[str, Any]
    key_prefix: str = DEFAULT_KEY_PREFIX
    sentinels: tuple[tuple[str, int], ...] = ()
    service_name: str | None = None
    sentinel_auth: dict[str, str] = field(default_factory=dict)
    #: The nodes a ``redis+cluster://`` URL names (empty for any other URL).
    cluster_nodes: tuple[tuple[str, int], ...] = ()
    #: How many hash tags a cluster broker spreads its queues over.
    shards: int = 1
    #: Options for the component itself, e.g. ``{"visibility_timeout.reports": "7200"}``.
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def masked_url(self) -> str:
        """The URL with every password replaced by ``***``."""
        return mask_url(self.url)


def parse_redis_url(url: str, *, extra_prefixes: Collection[str] = ()) -> RedisTarget:
    """Read ``url``; ``ConfigurationError`` names what is wrong and what is accepted.

    Query options starting with one of ``extra_prefixes`` are returned in ``extra``.
    """
    try:
        return _parse(url, tuple(extra_prefixes))
    except ValueError as exc:
        if isinstance(exc, ConfigurationError):
            raise
        raise ConfigurationError(f"Invalid Redis URL {mask_url(url)!r}: {exc}") from None


def _parse(url: str, extra_prefixes: tuple[str, ...]) -> RedisTarget:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    connection: dict[str, Any] = {}
    if parts.username:
        connection["username"] = unquote(parts.username)
    if parts.password:
        connection["password"] = unquote(parts.password)
    key_prefix = DEFAULT_KEY_PREFIX
    shards = 1
    extra: dict[str, str] = {}
    sentinel_auth: dict[str, str] = {}
    for name, raw in parse_qsl(parts.query, keep_blank_values=True):
        if name == "key_prefix":
            if not _KEY_PREFIX.match(raw):
                raise ValueError(
                    f"key_prefix must be 1-64 letters, digits or '_.:{{}}-', got {raw!r}"
                )
            key_prefix = raw
        elif name in _SENTINEL_OPTIONS and scheme == "redis+sentinel":
            sentinel_auth[name.removeprefix("sentinel_")] = raw
        elif name == "shards" and scheme in _CLUSTER_SCHEMES:
            if not raw.isdigit() or not 1 <= int(raw) <= 64:
                raise ValueError(f"shards must be a whole number from 1 to 64, got {raw!r}")
            shards = int(raw)
        elif name in _CONNECTION_OPTIONS:
            try:
                connection[name] = _CONNECTION_OPTIONS[name](raw)
            except ValueError as exc:
                raise ValueError(f"option {name}={raw!r}: {exc}") from None
        elif any(name.startswith(prefix) for prefix in extra_prefixes):
            extra[name] = raw
        else:
            known = sorted([*_CONNECTION_OPTIONS, "key_prefix", *_SENTINEL_OPTIONS, "shards"])
            known += [f"{prefix}<name>" for prefix in extra_prefixes]
            close = difflib.get_close_matches(name, known, n=1)
            guess = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(f"unknown option {name!r}{guess}; known options: {', '.join(known)}")

    path = [segment for segment in parts.path.split("/") if segment]
    sentinels: tuple[tuple[str, int], ...] = ()
    cluster_nodes: tuple[tuple[str, int], ...] = ()
    service_name = None
    if scheme == "unix":
        if not parts.path:
            raise ValueError("a unix:// URL needs the socket path, e.g. unix:///run/redis.sock")
        connection["path"] = parts.path
    elif scheme in ("redis", "rediss"):
        connection["host"] = parts.hostname or "localhost"
        connection["port"] = parts.port or 6379
        if path:
            if len(path) > 1 or "db" in connection:
                raise ValueError("the path must be just the db number, e.g. /0")
            connection["db"] = _db(path[0])
        if scheme == "rediss":
            connection["ssl"] = True
    elif scheme == "redis+sentinel":
        sentinels = tuple(_host_port(item) for item in parts.netloc.rpartition("@")[2].split(","))
        if not path or len(path) > 2:
            raise ValueError(
                "a redis+sentinel:// URL needs the service name and may add a db number: "
                "redis+sentinel://host1:26379,host2:26379/mymaster/0"
            )
        service_name = path[0]
        if len(path) == 2:
            connection["db"] = _db(path[1])
    elif scheme in _CLUSTER_SCHEMES:
        hosts = parts.netloc.rpartition("@")[2].split(",")
        cluster_nodes = tuple(_host_port(item, 6379) for item in hosts)
        if path or "db" in connection:
            raise ValueError(
                "a Redis Cluster has only db 0: use redis+cluster://host1:7000,host2:7001 "
                "with no path"
            )
        if scheme == "rediss+cluster":
            connection["ssl"] = True
        key_prefix = hash_tagged(key_prefix)
    else:
        raise ValueError(f"unsupported scheme {scheme!r}")
    return RedisTarget(
        url=url,
        connection=connection,
        key_prefix=key_prefix,
        sentinels=sentinels,
        service_name=service_name,
        sentinel_auth=sentinel_auth,
        cluster_nodes=cluster_nodes,
        shards=shards,
        extra=extra,
    )


def _host_port(item: str, default_port: int = 26379) -> tuple[str, int]:
    host, _, port = item.strip().rpartition(":")
    if not host:
        return item.strip() or "localhost", default_port
    if not port.isdigit():
        raise ValueError(f"bad address {item!r}; use host:port")
    return host.strip("[]"), int(port)


def hash_tagged(prefix: str) -> str:
    """``prefix`` with a Redis Cluster hash tag: as it is when it has one (``{...}`` with
    something inside), else wrapped in braces, so every key under it hashes to one slot."""
    start = prefix.find("{")
    if start >= 0 and prefix.find("}", start + 1) > start + 1:
        return prefix
    return "{" + prefix + "}"

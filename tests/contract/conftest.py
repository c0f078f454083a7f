"""The implementations every contract test runs against, in the manner of dramatiq's broker
fixtures: a test asks for ``brokers`` or ``backends`` (or both) and runs once per ``kind``:

- ``memory``: the in-process broker and result store (one shared instance per test);
- ``redis``: the Redis at ``FLOWRRA_TEST_REDIS_URL``, under a key prefix of the test's own,
  deleted afterwards;
- ``redis-cluster``: a Redis Cluster of three masters that the session starts on loopback
  (:mod:`tests.core.redis.cluster`), with the queues and results spread over three hash tags
  (``shards=3``), under a key prefix of the test's own;
- ``django-<database>``: ``django://`` on the test database that ``FLOWRRA_TEST_DB`` chooses
  (SQLite, PostgreSQL or MariaDB/MySQL).

``make test-sqlite`` runs every kind; ``make test-postgres`` and ``make test-mysql`` run this
folder again with ``FLOWRRA_TEST_DB`` set, and then only ``django://`` is parametrised, since
memory and Redis do not depend on the database. A missing server skips its tests, or fails the
run under ``CI=true`` (see :mod:`tests.services`).
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, Generic, Protocol, TypeVar

import pytest

from flowrra import BackendConfig, BrokerConfig
from flowrra.backends.base import BaseResultBackend
from flowrra.brokers.base import BaseBroker
from tests.core.redis.cluster import ClusterServers
from tests.core.redis.conftest import new_space, redis_missing
from tests.django.conftest import database_missing
from tests.services import skip_unavailable

DATABASE = os.environ.get("FLOWRRA_TEST_DB", "sqlite")
KINDS = ["memory", "redis", "redis-cluster", "django"] if DATABASE == "sqlite" else ["django"]

BrokerFactory = Callable[..., Awaitable[BaseBroker]]
BackendFactory = Callable[..., Awaitable[BaseResultBackend]]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    mine = [item for item in items if "tests/contract" in str(item.path)]
    by_kind: dict[str, list[pytest.Item]] = {}
    for item in mine:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "kind" in callspec.params:
            by_kind.setdefault(callspec.params["kind"], []).append(item)
    for item in by_kind.get("redis", []) + by_kind.get("redis-cluster", []):
        item.add_marker(pytest.mark.redis)
    if by_kind.get("redis"):
        skip_unavailable(
            by_kind["redis"], redis_missing(), "start Redis or set FLOWRRA_TEST_REDIS_URL"
        )
    if by_kind.get("redis-cluster"):
        missing = [name for name in ("redis-server", "redis-cli") if not shutil.which(name)]
        skip_unavailable(
            by_kind["redis-cluster"],
            f"{' and '.join(missing)} not installed" if missing else None,
            "install redis-server (Debian's redis-server package)",
        )
    for item in by_kind.get("django", []):
        # only Flowrra's tables are emptied after each test: a flush of every table would
        # double the time of these short tests
        item.add_marker(pytest.mark.django_db(transaction=True, available_apps=["flowrra_django"]))
    if by_kind.get("django"):
        skip_unavailable(
            by_kind["django"], database_missing(), "set FLOWRRA_TEST_DB=sqlite or start it"
        )


@pytest.fixture(params=KINDS, ids=lambda kind: f"django-{DATABASE}" if kind == "django" else kind)
def kind(request: pytest.FixtureRequest) -> str:
    """The implementation under test."""
    return str(request.param)


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClusterServers]:
    """Three Redis Cluster masters on loopback, for the whole session."""
    with ClusterServers(tmp_path_factory.mktemp("contract-cluster")) as servers:
        yield servers


@pytest.fixture
def url(kind: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """Where this test's broker and backend of ``kind`` live: storage of the test's own,
    emptied after (a cluster's go with the cluster at the end of the session)."""
    if kind == "redis-cluster":
        cluster: ClusterServers = request.getfixturevalue("redis_cluster")
        yield f"{cluster.url}?key_prefix=t{secrets.token_hex(4)}&shards=3"
    elif kind == "redis":
        space = new_space()
        yield space.url
        space.clean()
        space.client.close()
    elif kind == "django":  # on the test database (marked django_db at collection)
        yield "django://"
    else:
        yield "memory://"


class Connects(Protocol):
    async def connect(self) -> None: ...
    async def close(self) -> None: ...


C = TypeVar("C", bound=Connects)


class Opened(Generic[C]):
    """Makes connected brokers or backends with ``create`` and closes them all at the end.
    The in-memory kind has one instance per process: every call gives the first one."""

    def __init__(self, kind: str, create: Callable[..., C]) -> None:
        self.kind, self.create, self.made = kind, create, list[C]()

    async def __call__(self, **options: Any) -> C:
        if self.kind == "memory" and self.made:
            return self.made[0]
        one = self.create(**options)
        await one.connect()
        self.made.append(one)
        return one

    async def close(self) -> None:
        for one in self.made:
            await one.close()


@pytest.fixture
async def brokers(kind: str, url: str) -> AsyncIterator[BrokerFactory]:
    """``await brokers()`` gives a connected broker of this ``kind``; each call is another
    consumer of the same queues, as another process would be. ``visibility_timeout`` is how
    long a fetched message stays held without an acknowledgement."""

    def create(visibility_timeout: float = 30.0) -> BaseBroker:
        return BrokerConfig(url, visibility_timeout=visibility_timeout).create_broker()

    opened = Opened(kind, create)
    yield opened
    await opened.close()


@pytest.fixture
async def backends(kind: str, url: str) -> AsyncIterator[BackendFactory]:
    """``await backends()`` gives a connected result backend of this ``kind`` (``ttl`` in
    seconds), sharing its store with the others of the test."""

    def create(ttl: int | None = None) -> BaseResultBackend:
        return BackendConfig(url, ttl=ttl).create_backend()

    opened = Opened(kind, create)
    yield opened
    await opened.close()

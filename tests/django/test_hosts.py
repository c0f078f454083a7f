"""Workers on several hosts. Each worker runs on a test host of its own (a network namespace
with a veth pair and a host name of its own, see tests/netns.py) against one Redis, the
broker, and one PostgreSQL, the result store, both reached over the veth pairs. Tasks spread
over the hosts; each host's heartbeat and the dashboard's workers page name it; a host cut off
and healed loses nothing, the messages it held being delivered again to the other host.
Needs root, ``ip netns``, redis-server and FLOWRRA_TEST_DB=postgres."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from django.conf import settings
from django.db import connections
from django.test import Client, override_settings
from django.urls import reverse

import flowrra_django
from flowrra_django import runtime
from flowrra_django.models import TaskResult
from tests.core.redis.conftest import RedisServer
from tests.django.conftest import WorkerProcess
from tests.django.testapp import tasks
from tests.netns import Namespace, Relay, hosts
from tests.services import unavailable
from tests.waiting import wait_until

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

Start = Callable[..., WorkerProcess]
HOSTNAMES = ("scale-host-a", "scale-host-b")


@dataclass
class Site:
    """Two test hosts, the Redis they share, and the relay to the test PostgreSQL."""

    hosts: list[Namespace]
    redis: RedisServer
    postgres: Relay

    def start_worker(self, start: Start, number: int, *args: str) -> WorkerProcess:
        """A worker on host ``number``, under that host's name."""
        host = self.hosts[number]
        db = settings.DATABASES["default"]
        password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
        database = (
            f"postgres://{db['USER']}{password}@{host.host}:{self.postgres.port}/{db['NAME']}"
        )
        return start(
            *("--broker", f"redis://{host.host}:{self.redis.port}/0", *args),
            env={"FLOWRRA_TEST_DATABASE_URL": database},
            via=lambda argv: host.command(argv, hostname=HOSTNAMES[number]),
        )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    if connections["default"].vendor != "postgresql":
        pytest.skip("PostgreSQL only (FLOWRRA_TEST_DB=postgres): one PostgreSQL for all hosts")
    if shutil.which("redis-server") is None:
        unavailable("the multi-host tests need redis-server")
    db = settings.DATABASES["default"]
    with hosts(len(HOSTNAMES), "scale", "10.213") as made:
        addresses = [host.host for host in made]
        redis = RedisServer(tmp_path_factory.mktemp("redis"), also_on=addresses)
        postgres = Relay(addresses, (db["HOST"], int(db["PORT"] or 5432)))
        redis.start()
        postgres.start()
        try:
            yield Site(made, redis, postgres)
        finally:
            postgres.stop()
            redis.stop()


@pytest.fixture
def on_site(site: Site) -> Iterator[Site]:
    """This process submits to the site's Redis, and keeps results in the test database."""
    runtime.shutdown()
    with override_settings(FLOWRRA={**settings.FLOWRRA, "BROKER_URL": site.redis.url}):
        yield site
        runtime.shutdown()


def live_hosts() -> set[str]:
    """The host names in the live workers' heartbeats."""
    workers = runtime.run_sync(lambda: runtime.get_app().broker_required.list_workers())
    return {str(info["hostname"]) for info in workers}


def stored_by(task_ids: list[str]) -> dict[str, str]:
    """Task id -> the host name of the worker that stored its result, for finished tasks."""
    rows = TaskResult.objects.filter(task_id__in=task_ids, status="success")
    return {
        task_id: worker.split(":")[0] for task_id, worker in rows.values_list("task_id", "worker")
    }


def test_tasks_spread_over_hosts_whose_heartbeats_and_workers_page_name_them(
    on_site: Site, worker_process: Start, admin_client: Client
) -> None:
    for number in range(len(HOSTNAMES)):
        on_site.start_worker(worker_process, number, "--io-workers", "2", "--prefetch", "2")
    wait_until(lambda: live_hosts() == set(HOSTNAMES), 60, "a heartbeat from each host")

    ids = [flowrra_django.submit(tasks.sleep_then, 0.05, f"t{i}") for i in range(40)]
    wait_until(lambda: len(stored_by(ids)) == len(ids), 60, "the hosts to run the tasks")
    assert set(stored_by(ids).values()) == set(HOSTNAMES)

    page = admin_client.get(reverse("flowrra:workers")).content.decode()
    assert all(name in page for name in HOSTNAMES)


def test_a_host_cut_off_and_healed_loses_nothing(
    on_site: Site, worker_process: Start, admin_client: Client
) -> None:
    cut_off, other = on_site.hosts[0], HOSTNAMES[1]
    for number in range(len(HOSTNAMES)):
        on_site.start_worker(worker_process, number, "--io-workers", "2", "--prefetch", "2")
    wait_until(lambda: live_hosts() == set(HOSTNAMES), 60, "a heartbeat from each host")
    ids = [flowrra_django.submit(tasks.sleep_then, 2.0, f"t{i}") for i in range(8)]
    wait_until(lambda: _running_on(HOSTNAMES[0], ids), 30, "the first host to start tasks")

    cut_off.cut()
    try:
        running = _running_on(HOSTNAMES[0], ids)
        assert running  # two-second tasks: cut off while it runs them
        wait_until(lambda: len(stored_by(ids)) == len(ids), 60, "the other host to run all")
        assert all(stored_by(ids)[task_id] == other for task_id in running)
    finally:
        cut_off.heal()

    wait_until(lambda: live_hosts() == set(HOSTNAMES), 60, "the healed host to beat again")
    later = [flowrra_django.submit(tasks.sleep_then, 0.05, f"l{i}") for i in range(20)]
    wait_until(lambda: len(stored_by(later)) == len(later), 60, "the tasks submitted after")
    assert all(stored_by(ids)[task_id] == other for task_id in running)  # nothing overwritten
    assert TaskResult.objects.filter(task_id__in=ids, status="success").count() == len(ids)
    page = admin_client.get(reverse("flowrra:workers")).content.decode()
    assert all(name in page for name in HOSTNAMES)


def _running_on(hostname: str, task_ids: list[str]) -> list[str]:
    rows = TaskResult.objects.filter(task_id__in=task_ids, status="running")
    return [t for t, worker in rows.values_list("task_id", "worker") if worker.startswith(hostname)]

"""A running worker that loses Redis says so once, backs off, and says when it is back."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable

import pytest

from flowrra import TaskStatus
from tests.waiting import until

from .conftest import RedisServer, Space, WorkerProcess, make_app, with_prefix
from .tasks_app import record


async def test_an_outage_is_one_line_lost_and_one_line_back(
    private_redis: RedisServer,
    workers: Callable[..., WorkerProcess],
    r: Space,
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = with_prefix(private_redis.url, r.prefix)
    app = make_app(url)
    await app.start(worker=False)
    try:
        worker = workers("--io-workers", "2", url=url)
        before = await app.submit(record, "before")
        assert (await app.wait_for_result(before, timeout=30)).status is TaskStatus.SUCCESS

        private_redis.stop()
        await asyncio.sleep(4)  # dozens of fetches and a dozen heartbeats fail meanwhile
        private_redis.start()
        after = await app.submit(record, "after")
        assert (await app.wait_for_result(after, timeout=30)).status is TaskStatus.SUCCESS
        await until(lambda: "answers again" in worker.output(), what="the worker to say so")
        async with asyncio.timeout(30):  # this process's listener backs off up to 10 s
            while not any("Redis answers again" in r.getMessage() for r in caplog.records):  # noqa: ASYNC110
                await asyncio.sleep(0.05)
    finally:
        await app.stop()
    log = worker.output()
    assert "Traceback" not in log
    lost = re.findall(r"WARNING \d+\] flowrra.worker: Worker \S+: cannot reach the broker \(", log)
    assert len(lost) == 1, log
    back = re.findall(r"Worker \S+: the broker answers again after \d+\.\d s \(\d+ failed", log)
    assert len(back) == 1, log
    assert worker.proc.poll() is None  # it kept serving throughout
    # the producer's result notifications (this process) say it once each way too
    notices = [r.getMessage() for r in caplog.records if r.name.endswith("redis_waiters")]
    assert len([m for m in notices if "cannot reach Redis" in m]) == 1, notices
    assert len([m for m in notices if "Redis answers again" in m]) == 1, notices

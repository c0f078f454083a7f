"""Crash chaos on Redis: three worker processes, one SIGKILLed every 2-3 s and replaced,
the Redis server (the test's own, with an append-only file) restarted twice, while a
producer submits async and CPU tasks. Nothing is lost, every result is final, and no task
runs twice unless a worker that held it was killed."""

from __future__ import annotations

import asyncio
import random
import shutil
import time
from pathlib import Path

import pytest

from flowrra import BackendConfig, BrokerConfig, Config, Flowrra, TaskStatus
from tests.core.redis.conftest import RedisServer
from tests.services import unavailable

from . import chaos_app
from .conftest import Crew, Process, check_outcome, python
from .ledger import LEDGER_ENV, tally

pytestmark = pytest.mark.redis

TASKS = 1200
SUBMIT_SECONDS = 15.0


async def produce(app: Flowrra, submitted: list[str]) -> int:
    """Submit ``TASKS`` tasks over ``SUBMIT_SECONDS``; a submit that fails (Redis down) is
    tried again with the same id. Returns how many submits were retried."""
    rng = random.Random(12)
    retried = 0
    for i in range(TASKS):
        token = f"chaos-{i}"
        for attempt in range(20):
            try:
                options = app.options(task_id=token)
                if i % 7 == 0:
                    await options.submit(chaos_app.crunch, token, 20_000)
                else:
                    await options.submit(chaos_app.hop, token, rng.uniform(0, 0.05))
                break
            except Exception:
                retried += 1
                await asyncio.sleep(0.2 * (attempt + 1))
        else:
            pytest.fail(f"could not submit {token} in 20 attempts")
        submitted.append(token)
        await asyncio.sleep(SUBMIT_SECONDS / TASKS)
    return retried


async def test_crashes_and_restarts_lose_nothing_and_duplicate_only_after_a_kill(
    tmp_path: Path, processes: list[Process]
) -> None:
    if shutil.which("redis-server") is None:
        unavailable("redis-server is not installed")
    server = RedisServer(tmp_path, durable=True)
    server.start()
    ledger = tmp_path / "ledger"
    env = {"FLOWRRA_CHAOS_REDIS_URL": server.url, LEDGER_ENV: str(ledger)}
    command = python("-m", "flowrra", "worker", "--app", "tests.chaos.chaos_app:app")
    command += ["--heartbeat-interval", "1", "--prefetch", "16", "--connect-timeout", "60"]

    crew = Crew(command, env, tmp_path, processes)
    crew.start(3)
    app = Flowrra(
        Config(broker=BrokerConfig(url=server.url), backend=BackendConfig(url=server.url))
    )
    for spec in chaos_app.app.registry:
        app.registry.register(spec)
    await app.start(worker=False)
    submitted: list[str] = []
    rng = random.Random(7)
    try:
        producer = asyncio.create_task(produce(app, submitted))
        started = time.monotonic()
        restarts = 0
        while not producer.done():
            await asyncio.sleep(rng.uniform(2.0, 3.0))
            crew.kill_one(rng)
            if restarts < 2 and time.monotonic() - started > 5 + 6 * restarts:
                restarts += 1
                server.stop()
                await asyncio.sleep(0.3)
                server.start()
        retried = await producer

        deadline = time.monotonic() + 90
        results = {}
        for token in submitted:
            left = max(1.0, deadline - time.monotonic())
            results[token] = await app.wait_for_result(token, timeout=left)
    finally:
        await app.stop()
        for worker in processes:
            worker.stop()
        server.stop()

    counts = tally(ledger, submitted, crew.killed)
    label = (
        f"redis crash chaos ({len(crew.killed)} workers killed, 2 Redis restarts, "
        f"{retried} submits retried)"
    )
    assert len(submitted) == TASKS
    assert {result.status for result in results.values()} == {TaskStatus.SUCCESS}
    check_outcome(counts, label, processes)

"""The task app the Redis chaos test runs in its worker processes
(``python -m flowrra worker --app tests.chaos.chaos_app:app``), on the Redis server the test
started (``FLOWRRA_CHAOS_REDIS_URL``); each task notes its run in the ledger."""

from __future__ import annotations

import asyncio
import multiprocessing
import os

from flowrra import BackendConfig, BrokerConfig, Config, ExecutorConfig, Flowrra

from .ledger import note

URL = os.environ.get("FLOWRRA_CHAOS_REDIS_URL", "redis://127.0.0.1:6379/11?key_prefix=chaos")

app = Flowrra(
    Config(
        broker=BrokerConfig(url=URL),
        backend=BackendConfig(url=URL),
        executor=ExecutorConfig(io_workers=4, cpu_workers=1, retry_delay=0.05),
    )
)


@app.task(max_retries=0)
async def hop(token: str, pause: float) -> str:
    """Notes ``<token>:start``, waits a little (I/O), then notes its run."""
    await asyncio.to_thread(note, f"{token}:start", os.getpid())
    await asyncio.sleep(pause)
    await asyncio.to_thread(note, token, os.getpid())
    return token


@app.task(cpu_bound=True, max_retries=0)
def crunch(token: str, rounds: int) -> int:
    """Computes a little in a pool process, then notes its run for its worker (the pool
    process of a worker killed meanwhile still finishes: that run counts for the worker)."""
    worker = multiprocessing.parent_process().pid  # type: ignore[union-attr]
    total = sum(i * i for i in range(rounds))
    note(token, worker)
    return total

"""The task app the Redis tests run in worker subprocesses
(``python -m flowrra worker --app tests.core.redis.tasks_app:app``).

``FLOWRRA_TEST_REDIS_URL`` names the server and db; each test gives its workers a URL with a
``key_prefix`` of its own. Every task appends ``<label>`` to the list ``<prefix>:executions``
when it runs, so a test can count executions (and duplicates) across processes.
"""

from __future__ import annotations

import asyncio
import os
import time

import redis.asyncio

from flowrra import BackendConfig, BrokerConfig, Config, ExecutorConfig, Flowrra
from flowrra.redis_clients import create_client
from flowrra.redis_url import parse_redis_url
from flowrra.worker import current_task

REDIS_URL = os.environ.get("FLOWRRA_TEST_REDIS_URL", "redis://127.0.0.1:6379/11")

app = Flowrra(
    Config(
        broker=BrokerConfig(url=REDIS_URL),
        backend=BackendConfig(url=REDIS_URL),
        executor=ExecutorConfig(io_workers=4, retry_delay=0.05),
    )
)
_client: redis.asyncio.Redis | None = None


async def _record(label: str) -> None:
    global _client
    if _client is None:
        _client = create_client(parse_redis_url(REDIS_URL), max_connections=50, socket_timeout=5)
    await _client.rpush(executions_key(REDIS_URL), label)


def executions_key(url: str) -> str:
    """The list where the tasks of the app on ``url`` note their labels."""
    return parse_redis_url(url).key_prefix + ":executions"


@app.task()
async def record(label: str) -> str:
    """Notes its label in ``test:executions``."""
    await _record(label)
    return label


@app.task(max_retries=0)
async def slow(label: str, seconds: float) -> str:
    """Sleeps, then notes its label (a task a worker can be killed in the middle of)."""
    await asyncio.sleep(seconds)
    await _record(label)
    return label


@app.task(max_retries=0)
async def nap(seconds: float) -> float:
    """Only sleeps: it needs no Redis while it runs."""
    await asyncio.sleep(seconds)
    return seconds


@app.task(max_retries=2, retry_delay=0.05)
async def flaky(label: str) -> int:
    """Fails on its first attempt, succeeds on the next (a retry through the delayed set)."""
    task = current_task.get()
    attempt = task.current_retry if task is not None else 0
    await _record(f"{label}:{attempt}")
    if attempt == 0:
        raise RuntimeError("first attempt fails")
    return attempt


@app.task(max_retries=0)
async def ledgered(label: str, seconds: float) -> str:
    """Notes ``start:<label>:<pid>``, sleeps, then notes ``end:<label>:<pid>``."""
    await _record(f"start:{label}:{os.getpid()}")
    await asyncio.sleep(seconds)
    await _record(f"end:{label}:{os.getpid()}")
    return label


@app.task(cpu_bound=True, max_retries=0)
def cpu_sleep(pid_file: str, seconds: float) -> int:
    """In a CPU pool process: writes its pid to ``pid_file``, then sleeps."""
    with open(pid_file, "w") as out:
        out.write(str(os.getpid()))
    time.sleep(seconds)
    return os.getpid()

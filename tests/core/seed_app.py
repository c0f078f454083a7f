"""The module-level code of the seed's examples (Flowrra 0.1 API reference), as a user's
module holds it: CPU tasks must be importable by name from the worker processes.

The seed's Redis URLs (``redis://localhost:6379/0`` and ``/1``) are the test Redis with a
key prefix of this module's own (``FLOWRRA_TEST_REDIS_URL``, the Redis tests' server):
the server is shared, so the example's keys must not land in another user's db.
"""

from __future__ import annotations

import os

from flowrra import BackendConfig, Config, CPUExecutor, ExecutorConfig, Flowrra

REDIS_URL = os.environ.get("FLOWRRA_TEST_REDIS_URL", "redis://127.0.0.1:6379/11")
PREFIX = f"seed{os.getpid()}"
BROKER_URL = f"{REDIS_URL}?key_prefix={PREFIX}b"
BACKEND_URL = f"{REDIS_URL}?key_prefix={PREFIX}r"


async def fetch(url: str) -> str:
    """The seed's ``fetch`` is left undefined (a placeholder for the user's HTTP call); this
    stand-in answers without the network."""
    return f"fetched {url}"


# -- flowrra (module contents): basic usage -------------------------------------------------

app = Flowrra.from_urls(broker=BROKER_URL, backend=BACKEND_URL)


# I/O-bound task (async)
@app.task()
async def fetch_data(url: str):
    return await fetch(url)


# CPU-bound task (sync)
@app.task(cpu_bound=True)
def heavy_compute(n: int):
    return sum(i**2 for i in range(n))


# -- flowrra.CPUExecutor: usage ---------------------------------------------------------------

config = Config(
    backend=BackendConfig(url=BACKEND_URL),
    executor=ExecutorConfig(cpu_workers=4),
)
executor = CPUExecutor(config=config)


@executor.task()
def heavy_computation(n: int):
    # CPU-intensive work
    return sum(i**2 for i in range(n))

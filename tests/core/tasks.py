"""Task functions the core tests submit; module level, so CPU worker processes can import them."""

from __future__ import annotations

import os
import time

from flowrra import Config, ExecutorConfig, Flowrra

cpu_app = Flowrra(Config(executor=ExecutorConfig(io_workers=2, cpu_workers=2)))


@cpu_app.task(cpu_bound=True)
def whoami(x: int) -> dict[str, int]:
    """Returns the pid of the process that ran it."""
    return {"pid": os.getpid(), "double": x * 2}


@cpu_app.task(cpu_bound=True, timeout=0.5, max_retries=0)
def sleepy(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


@cpu_app.task(cpu_bound=True, max_retries=0)
def explode(message: str) -> None:
    raise ValueError(message)


@cpu_app.task(cpu_bound=True, max_retries=0)
def die(code: int) -> None:
    os._exit(code)


def not_registered() -> None:
    """A module-level function that is never decorated."""


@cpu_app.task(cpu_bound=True, max_retries=0)
def sleepy_long(seconds: float, marker: str) -> float:
    """Writes its process id to the file ``marker``, then sleeps without a time limit
    (remote control terminates it)."""
    with open(marker, "w") as handle:
        handle.write(str(os.getpid()))
    time.sleep(seconds)
    return seconds

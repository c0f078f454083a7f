"""How a failed attempt is described for storage, and how long to wait before retrying it."""

from __future__ import annotations

import random
import traceback
from collections.abc import Callable

from .executors.cpu import CPUTaskError

MAX_RETRY_DELAY = 3600.0


def retry_backoff(
    base: float,
    attempt: int,
    *,
    cap: float = MAX_RETRY_DELAY,
    rng: Callable[[], float] = random.random,
) -> float:
    """Seconds before retry number ``attempt`` (1-based): ``base * 2**(attempt-1)`` capped at
    ``cap``, half of it fixed and half random ("equal jitter"), so retries of many tasks that
    failed together spread out."""
    delay = min(cap, base * 2 ** (attempt - 1))
    return delay / 2 + rng() * delay / 2


def describe_exception(exc: BaseException) -> tuple[str, str, str]:
    """(type name, message, formatted traceback) of a task's exception."""
    if isinstance(exc, CPUTaskError):
        return exc.type_name, str(exc), exc.formatted_traceback
    cls = type(exc)
    name = f"{cls.__module__}.{cls.__qualname__}".removeprefix("builtins.")
    return name, str(exc), "".join(traceback.format_exception(exc))

"""Waiting for another process, or another task of the event loop, in tests: a bound on a
hang, never a timing assertion. Sync tests use :func:`wait_until`; async tests use
:func:`until`, which yields to the event loop between looks."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn, TypeVar, overload

import pytest

T = TypeVar("T")


def wait_until(
    condition: Callable[[], object], timeout: float = 30.0, what: str = "", interval: float = 0.02
) -> None:
    """Poll ``condition`` until it is true; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            _timed_out(timeout, what or condition)
        time.sleep(interval)


@overload
async def until(
    condition: Callable[[], Awaitable[T]],
    timeout: float = ...,
    what: str = ...,
    interval: float = ...,
) -> T: ...


@overload
async def until(
    condition: Callable[[], T], timeout: float = ..., what: str = ..., interval: float = ...
) -> T: ...


async def until(
    condition: Callable[[], Any], timeout: float = 30.0, what: str = "", interval: float = 0.01
) -> Any:
    """Await ``condition`` (a function, sync or async) until it returns something true, and
    return that; fail the test after ``timeout`` seconds. The event loop runs meanwhile."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            _timed_out(timeout, what or condition)
        await asyncio.sleep(interval)


def _timed_out(timeout: float, what: object) -> NoReturn:
    pytest.fail(f"timed out after {timeout:g} s waiting for {what}")

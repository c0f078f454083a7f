"""Servers and programs a test needs (Redis, PostgreSQL, Chromium): with ``CI=true`` a
missing one fails the run, elsewhere the tests that need it are skipped with the reason."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import NoReturn

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"


def unavailable(reason: str, hint: str = "") -> NoReturn:
    """In a test or fixture: what it needs is missing (``reason``); ``hint`` says how to
    get it. Fails under CI=true, skips elsewhere."""
    if IN_CI:
        pytest.fail(f"CI=true and {reason}")
    pytest.skip(f"{reason}; {hint}" if hint else reason)


def skip_unavailable(items: Iterable[pytest.Item], reason: str | None, hint: str) -> None:
    """At collection: ``reason`` (None when all is there) says that the server ``items``
    need is missing. A usage error under CI=true, else each of them is skipped."""
    if reason is None:
        return
    if IN_CI:
        raise pytest.UsageError(f"CI=true and {reason}")
    skip = pytest.mark.skip(reason=f"{reason}; {hint}")
    for item in items:
        item.add_marker(skip)

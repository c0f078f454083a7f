"""``python -m flowrra worker``: usage errors, the banner, and start-up failures, as a user
running the command sees them."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def flowrra(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flowrra", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--app", "tests.core.nowhere:app"], "cannot import 'tests.core.nowhere'"),
        (["--app", "tests.core.cli_apps"], "expected 'package.module:app'"),
        (["--app", "tests.core.cli_apps:not_an_app"], "is a str, not a Flowrra app"),
        (["--app", "tests.core.cli_apps:missing"], "is nothing, not a Flowrra app"),
        (["--app", "tests.core.cli_apps:memory_app", "--io-workers", "0"], "whole number >= 1"),
        (["--app", "tests.core.cli_apps:memory_app", "--prefetch", "many"], "got 'many'"),
        (["--app", "tests.core.cli_apps:memory_app", "--queues", "a b"], "queue must be"),
        (["--app", "tests.core.cli_apps:memory_app", "--queues", ","], "at least one queue"),
        (["--app", "tests.core.cli_apps:memory_app", "--loglevel", "loud"], "one of DEBUG"),
        (["--app", "tests.core.cli_apps:memory_app", "--shutdown-timeout", "-1"], ">= 0"),
        ([], "the following arguments are required: --app"),
    ],
)
def test_bad_input_is_a_usage_error_not_a_traceback(args: list[str], message: str) -> None:
    done = flowrra("worker", *args)
    assert done.returncode == 2
    assert message in done.stderr and "usage: flowrra worker" in done.stderr
    assert "Traceback" not in done.stderr


def test_without_a_command_it_shows_usage() -> None:
    done = flowrra()
    assert done.returncode == 2 and "COMMAND" in done.stderr
    assert "--burst" in flowrra("worker", "--help").stdout


def test_a_burst_worker_prints_its_banner_and_exits_when_idle() -> None:
    done = flowrra("worker", "--app", "tests.core.cli_apps:memory_app", "--burst", "-l", "warning")
    assert done.returncode == 0, done.stderr
    banner = done.stdout
    assert "app:         tests.core.cli_apps:memory_app" in banner
    assert "tasks (2):   hello, send" in banner
    assert "queues:      every queue" in banner and "--burst" in banner
    assert "4 io + 2 cpu" in banner and "in-memory broker only sees" in banner


def test_an_unreachable_broker_is_reported_with_the_password_masked() -> None:
    done = flowrra(
        "worker", "--app", "tests.core.cli_apps:unreachable_app", "--connect-timeout", "0"
    )
    assert done.returncode == 1
    assert "broker:      redis://:***@127.0.0.1:9/0" in done.stdout
    assert "Cannot reach the broker at redis://:***@127.0.0.1:9/0" in done.stderr
    assert "s3cret" not in done.stdout + done.stderr and "Traceback" not in done.stderr


def test_a_burst_worker_gives_up_on_an_unreachable_broker_with_one_line() -> None:
    done = flowrra(
        "worker",
        "--app",
        "tests.core.cli_apps:unreachable_app",
        "--burst",
        "--connect-timeout",
        "1.5",
    )
    assert done.returncode == 1
    [line] = done.stderr.splitlines()
    assert re.search(
        r"ERROR \d+\] flowrra.cli: Cannot reach the broker at redis://:\*\*\*@127\.0\.0\.1:9/0 "
        r"within 1\.5 s \(ConnectionError: .*127\.0\.0\.1:9.*\)\. Is the server running and "
        r"the URL right\?$",
        line,
    ), line

"""``python -m flowrra inspect workers`` and ``control ...`` against a worker process on
Redis: the same commands as the dashboard, from a shell."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable

from flowrra import Flowrra
from flowrra.control import send_command
from flowrra.task import TaskStatus
from tests.waiting import until

from .conftest import ROOT, Space, WorkerProcess

APP = "tests.core.redis.tasks_app:app"


def flowrra(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flowrra", *args],
        cwd=ROOT,
        env={**os.environ, "FLOWRRA_TEST_REDIS_URL": url},
        capture_output=True,
        text=True,
        timeout=60,
    )


def _worker_ids(r: Space) -> list[str]:
    listed = flowrra(r.url, "inspect", "workers", "--app", APP)
    assert listed.returncode == 0, listed.stderr
    return [line.split()[0] for line in listed.stdout.splitlines() if "queues:" in line]


async def test_inspect_and_control_a_worker_from_the_shell(
    r: Space, workers: Callable[..., WorkerProcess], producer: Flowrra
) -> None:
    worker = workers("--queues", "default,bulk")
    await until(lambda: len(_worker_ids(r)) == 1, 30, "the worker in `inspect workers`")
    worker_id = _worker_ids(r)[0]

    paused = flowrra(r.url, "control", "--app", APP, "pause", "bulk", "--worker", worker_id)
    assert paused.returncode == 0, paused.stdout + paused.stderr
    assert paused.stdout.strip() == f"{worker_id}: ok: stopped taking tasks from 'bulk'"
    await until(
        lambda: "bulk (paused)" in flowrra(r.url, "inspect", "workers", "--app", APP).stdout,
        30,
        "the paused queue in `inspect workers`",
    )

    task_id = await producer.submit("nap", 3600)

    async def running() -> bool:
        result = await producer.backend_required.get(task_id)
        return result is not None and result.status is TaskStatus.RUNNING

    await until(running, 30, "the task to start")
    ended = flowrra(r.url, "control", "--app", APP, "terminate", task_id, "--all")
    assert ended.returncode == 0 and "ok: terminated" in ended.stdout, ended.stdout
    assert (await producer.wait_for_result(task_id, timeout=30)).status is TaskStatus.REVOKED

    bad = flowrra(r.url, "control", "--app", APP, "resume", "reports", "--worker", worker_id)
    assert bad.returncode == 1 and "refused: 'reports' is not paused" in bad.stdout
    silent = flowrra(r.url, "control", "--app", APP, "--timeout", "0.3", "ping", "-w", "gone")
    assert silent.returncode == 1 and "gone: no reply within 0.3 s" in silent.stdout

    reply = await send_command(producer.broker_required, worker_id, "ping")
    assert reply is not None and reply["message"] == "pong"
    stopped = flowrra(r.url, "control", "--app", APP, "shutdown", "--all")
    assert stopped.returncode == 0 and "gracefully" in stopped.stdout
    assert worker.wait(30) == 0

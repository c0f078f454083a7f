"""Remote control of a real worker process (``manage.py flowrra_worker``) through the
API: pause a queue and see it stop taking from it, resize, terminate a running CPU task,
shut the worker down gracefully."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from flowrra_django.models import TaskResult, WorkerHeartbeat
from tests.django.conftest import WorkerProcess
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

TASKS = "tests.django.testapp.tasks"


def status_of(task_id: str) -> str:
    return TaskResult.objects.get(task_id=task_id).status


def heartbeat(worker_id: str) -> dict[str, Any]:
    return WorkerHeartbeat.objects.get(worker_id=worker_id).info


def submit(client: Client, task: str, *args: Any) -> str:
    body = {"task": f"{TASKS}.{task}", "args": list(args)}
    response = client.post("/flowrra/api/tasks/", body, content_type="application/json")
    assert response.status_code == 201, response.content
    return response.json()["task_id"]


def control(client: Client, worker_id: str, command: str, **args: Any) -> tuple[int, Any]:
    body = {"command": command, "args": args, "timeout": 10}
    response = client.post(
        f"/flowrra/api/workers/{worker_id}/control/", body, content_type="application/json"
    )
    return response.status_code, response.json()


def test_a_worker_process_obeys_pause_resume_resize_terminate_and_shutdown(
    token: Client, operator: Client, worker_process: Callable[..., WorkerProcess]
) -> None:
    worker = worker_process("--queues", "default,emails", "--io-workers", "2")
    wait_until(lambda: WorkerHeartbeat.objects.exists(), 60, "the worker's heartbeat")
    worker_id = WorkerHeartbeat.objects.get().worker_id

    status, body = control(token, worker_id, "pause", queue="emails")
    assert status == 200 and body["reply"]["ok"], body
    assert "stopped taking tasks from 'emails'" in body["reply"]["message"]
    receipt = submit(token, "send_receipt", 7)
    plain = submit(token, "noop", 1)
    wait_until(lambda: status_of(plain) == "success", 30, "the default queue's task")
    wait_until(lambda: heartbeat(worker_id).get("paused") == ["emails"], 10, "a heartbeat")
    time.sleep(1.0)  # a worker still taking from 'emails' would have run it by now
    assert status_of(receipt) == "pending"
    status, body = control(token, worker_id, "resume", queue="emails")
    assert status == 200 and body["reply"]["ok"]
    wait_until(lambda: status_of(receipt) == "success", 30, "the paused queue's task")

    status, body = control(token, worker_id, "pause", queue="reports")
    assert status == 409 and "does not consume 'reports'" in body["reply"]["message"]

    page = reverse("flowrra:worker", args=[worker_id])
    assert "Remote control" in operator.get(page).content.decode()
    form = {"command": "io_concurrency", "value": "3"}
    shown = operator.post(reverse("flowrra:worker-control", args=[worker_id]), form, follow=True)
    assert shown.redirect_chain[-1][0] == page
    reply = "The worker replied to io_concurrency: “runs up to 3 async tasks at once (was 2)”."
    assert reply in shown.content.decode()

    status, body = control(token, worker_id, "io_concurrency", value=6)
    assert status == 200 and "was 3" in body["reply"]["message"]
    wait_until(lambda: heartbeat(worker_id)["concurrency"]["io"] == 6, 10, "a heartbeat")

    stuck = submit(token, "cpu_sleep", 3600)
    wait_until(lambda: status_of(stuck) == "running", 60, "the CPU task to start")
    wait_until(lambda: stuck in heartbeat(worker_id)["active"], 10, "a heartbeat")
    response = token.post(f"/flowrra/api/tasks/{stuck}/terminate/")
    assert response.status_code == 200 and response.json()["reply"]["ok"], response.content
    wait_until(lambda: status_of(stuck) == "revoked", 30, "the terminated task")
    after = submit(token, "cpu_count_results")
    wait_until(lambda: status_of(after) == "success", 60, "the replaced CPU process")

    running = submit(token, "sleep_then", 1.0, "finished")
    wait_until(lambda: status_of(running) == "running", 30, "the last task to start")
    status, body = control(token, worker_id, "shutdown")
    assert status == 200 and "gracefully" in body["reply"]["message"]
    assert worker.wait(60) == 0
    assert TaskResult.objects.get(task_id=running).result == "finished"
    assert not WorkerHeartbeat.objects.filter(worker_id=worker_id).exists()

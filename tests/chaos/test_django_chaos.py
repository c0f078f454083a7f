"""Crash chaos on ``django://`` (SQLite, and PostgreSQL with ``FLOWRRA_TEST_DB=postgres``):
three worker processes, one SIGKILLed every 2-3 s and replaced, on PostgreSQL every
database session of the test database ended every 2 s, while a producer submits async and
CPU tasks. Nothing is lost, every result is final, and no task runs twice unless a worker
that held it was killed."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db import connections

import flowrra_django
from flowrra_django import runtime
from flowrra_django.models import TaskResult
from tests.django.testapp import tasks
from tests.waiting import wait_until

from .conftest import Crew, Process, check_outcome, python
from .ledger import tally

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _stop_producer() -> Iterator[None]:
    """The submits start this process's producer thread: stop it, and its database
    session, before the test database goes."""
    yield
    runtime.shutdown()
    connections.close_all()


TASKS = 600
SUBMIT_SECONDS = 15.0


def end_sessions() -> int:
    """End every session of the test database but this one (the workers', the producer's):
    what a failover or an administrator does."""
    db = settings.DATABASES["default"]
    with psycopg.connect(
        host=db["HOST"], port=db["PORT"] or 5432, user=db["USER"], dbname=db["NAME"]
    ) as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    return len(rows)


def produce(ledger: Path, submitted: list[str], failures: list[str]) -> None:
    try:
        _produce(ledger, submitted, failures)
    finally:  # the submits wrote on this thread's connection
        connections.close_all()


def _produce(ledger: Path, submitted: list[str], failures: list[str]) -> None:
    for i in range(TASKS):
        token = f"chaos-{i}"
        fn = tasks.cpu_record if i % 7 == 0 else tasks.record
        for attempt in range(20):
            try:
                flowrra_django.options(task_id=token).submit(fn, str(ledger), token)
                break
            except Exception as exc:
                failures.append(f"{token}: {exc}")
                time.sleep(0.1 * (attempt + 1))
        submitted.append(token)
        time.sleep(SUBMIT_SECONDS / TASKS)


def test_crashes_and_ended_sessions_lose_nothing(tmp_path: Path, processes: list[Process]) -> None:
    vendor = connections["default"].vendor
    ledger = tmp_path / "ledger"
    env = {"DJANGO_SETTINGS_MODULE": "tests.django.settings", "FLOWRRA_TEST_SUBPROCESS": "1"}
    command = python("-m", "django", "flowrra_worker", "--loglevel", "WARNING")
    command += ["--prefetch", "16"]

    crew = Crew(command, env, tmp_path, processes)
    crew.start(3)
    submitted: list[str] = []
    failures: list[str] = []
    producer = threading.Thread(target=produce, args=(ledger, submitted, failures))
    producer.start()
    rng = random.Random(5)
    ended = 0
    next_kill = time.monotonic() + rng.uniform(2, 3)
    while producer.is_alive():
        time.sleep(0.5 if vendor == "postgresql" else 0.2)
        if vendor == "postgresql" and rng.random() < 0.25:
            ended += end_sessions()
        if time.monotonic() >= next_kill:
            crew.kill_one(rng)
            next_kill = time.monotonic() + rng.uniform(2, 3)
    producer.join()
    connections["default"].close()  # this thread's session may have been ended too

    def all_final() -> bool:
        done = TaskResult.objects.filter(task_id__in=submitted, status="success").count()
        return done == len(submitted)

    try:
        wait_until(all_final, 180, "every result to be final")
    finally:
        for worker in processes:
            worker.stop()
    counts = tally(ledger, submitted, crew.killed)
    label = (
        f"django:// {vendor} crash chaos ({len(crew.killed)} workers killed, {ended} sessions "
        f"ended, {len(failures)} submits retried)"
    )
    assert len(submitted) == TASKS
    check_outcome(counts, label, processes)

"""The deployment in Prometheus text format, from ``UIService.get_metrics_data``.

Everything is read at scrape time from the shared stores, so every web process answers
the same and nothing is lost on a restart: task counts and the runtime histogram come
from the result store over a recent window (indexed range scans, never a count of the
whole table), queue levels and dead letters from the broker, workers from their
heartbeats (their counters are per worker process), lateness from the schedule store.
Needs ``prometheus-client`` (the ``django`` and ``ui-*`` extras).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeHistogramMetricFamily,
    GaugeMetricFamily,
    Metric,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from ..backends.query import RUNTIME_BUCKETS
from ..task import TaskStatus

__all__ = ["CONTENT_TYPE_LATEST", "render"]


class _Snapshot:
    """A collector of one scrape's data (prometheus-client calls :meth:`collect`)."""

    def __init__(self, data: dict[str, Any], started: float) -> None:
        self.data = data
        self.started = started

    def collect(self) -> Iterator[Metric]:
        data = self.data
        window = data["window"].total_seconds()
        yield GaugeMetricFamily(
            "flowrra_metrics_window_seconds",
            "The recent window the task counts and runtimes cover.",
            value=window,
        )
        yield from _tasks(data, window)
        yield from _queues(data)
        yield from _workers(data)
        yield from _scheduler(data)
        yield GaugeMetricFamily(
            "flowrra_scrape_duration_seconds",
            "How long gathering these metrics took.",
            value=time.perf_counter() - self.started,
        )


def _tasks(data: dict[str, Any], window: float) -> Iterator[Metric]:
    stats = data["stats"]
    tasks = GaugeMetricFamily(
        "flowrra_tasks",
        f"Tasks submitted in the last {window:g} s, by task name and current status.",
        labels=["task_name", "status"],
    )
    names = sorted({name for name, _ in stats.counts})
    for name in names:
        for status in TaskStatus:
            tasks.add_metric([name, status.value], stats.counts.get((name, status), 0))
    yield tasks
    bounds = [f"{bound:g}" for bound in RUNTIME_BUCKETS] + ["+Inf"]
    yield GaugeHistogramMetricFamily(
        "flowrra_task_runtime_seconds",
        f"Runtimes of the tasks that finished in the last {window:g} s.",
        buckets=list(zip(bounds, stats.buckets, strict=True)),
        gsum_value=stats.runtime_sum,
    )


def _queues(data: dict[str, Any]) -> Iterator[Metric]:
    messages = GaugeMetricFamily(
        "flowrra_queue_messages",
        "Messages per queue and priority: ready to run, delayed (eta, back-off) or held by "
        "workers.",
        labels=["queue", "priority", "state"],
    )
    for level in data["levels"]:
        priority = "" if level.priority is None else str(level.priority)
        for state in ("ready", "delayed", "held"):
            value = getattr(level, state)
            if value is not None:
                messages.add_metric([level.queue, priority, state], value)
    yield messages
    yield GaugeMetricFamily(
        "flowrra_delayed_messages",
        "Messages waiting for their eta or retry back-off, every queue.",
        value=data["scheduled"],
    )
    if data["dead_letters"] is not None:
        dead = GaugeMetricFamily(
            "flowrra_dead_letters",
            "Messages set aside because no worker can run them.",
            labels=["queue"],
        )
        for queue, count in sorted(data["dead_letters"].items()):
            dead.add_metric([queue], count)
        yield dead


def _workers(data: dict[str, Any]) -> Iterator[Metric]:
    workers = data["workers"]
    yield GaugeMetricFamily(
        "flowrra_workers_online",
        "Workers whose heartbeat is current.",
        value=sum(1 for worker in workers if worker.online),
    )
    active = GaugeMetricFamily(
        "flowrra_worker_active_tasks", "Tasks each online worker runs now.", labels=["worker"]
    )
    done = CounterMetricFamily(
        "flowrra_worker_tasks",
        "Tasks each online worker process has finished since it started, by outcome.",
        labels=["worker", "outcome"],
    )
    for worker in workers:
        if not worker.online:
            continue
        active.add_metric([worker.id], len(worker.active))
        for outcome in ("succeeded", "failed", "retried"):
            done.add_metric([worker.id, outcome], getattr(worker, outcome))
    yield active
    yield done


def _scheduler(data: dict[str, Any]) -> Iterator[Metric]:
    if data["scheduler_lateness"] is not None:
        yield GaugeMetricFamily(
            "flowrra_scheduler_lateness_seconds",
            "How far past due the earliest enabled schedule is (0 when none is late).",
            value=data["scheduler_lateness"],
        )
    last = data["beat_last_pass"]
    if last is not None:
        yield GaugeMetricFamily(
            "flowrra_beat_last_pass_timestamp_seconds",
            "When a beat last finished a pass over the schedules (Unix time).",
            value=last.timestamp(),
        )


def render(data: dict[str, Any], started: float) -> bytes:
    """One scrape's metrics in Prometheus text format; ``started`` is the
    ``time.perf_counter()`` when gathering ``data`` began."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Snapshot(data, started))
    return generate_latest(registry)

"""UIService: the data of every dashboard page, framework-free.

It reads through :class:`~flowrra.management.FlowrraManager` (the app, its broker, its
result backend and its scheduler) and the result backend's query interface
(:mod:`flowrra.backends.query`), and returns plain dicts and dataclasses: adapters only
render them. Times are aware datetimes in UTC; adapters show them in the user's zone.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..backends.query import ResultQuery
from ..brokers.stats import WORKER_RETENTION, DeadLetter
from ..control import command_args, send_command
from ..task import TaskResult, TaskStatus, new_task_id, utcnow
from .formatter import PREVIEW_CHARS, Formatter, mask_urls, timeline
from .queues import queue_totals
from .submission import parse_submission, submit
from .workers import WorkerView, worker_views

if TYPE_CHECKING:
    from ..backends.base import BaseResultBackend
    from ..brokers.base import BaseBroker
    from ..management import FlowrraManager

#: The overview counts results submitted in this window.
COUNTS_WINDOW = dt.timedelta(hours=24)
#: The overview's chart spans this many minutes.
CHART_MINUTES = 60
#: Workers the overview lists (the workers page has them all).
OVERVIEW_WORKERS = 10
#: Characters of a traceback a page shows before it offers "show all".
TRACEBACK_PREVIEW = 20_000
#: Metrics count the results of this recent window (an indexed range, never the table).
METRICS_WINDOW = dt.timedelta(minutes=5)
#: Dead letters a metrics scrape reads at most.
DEAD_LETTER_SCAN = 1000
_WAITING = (TaskStatus.PENDING, TaskStatus.RETRYING)


class UIService:
    """Prepares the data of the dashboard pages from a :class:`FlowrraManager`."""

    def __init__(self, manager: FlowrraManager, *, worker_retention: float = WORKER_RETENTION):
        self.manager = manager
        self.worker_retention = worker_retention

    @property
    def backend(self) -> BaseResultBackend:
        return self.manager.app.backend_required

    @property
    def broker(self) -> BaseBroker:
        return self.manager.app.broker_required

    # -- overview ----------------------------------------------------------------------------

    async def get_dashboard_data(self, now: dt.datetime | None = None) -> dict[str, Any]:
        """Counts per status over :data:`COUNTS_WINDOW`, the per-minute chart of the last
        hour, recent failures, workers online, queue lengths and the next scheduled runs."""
        now = now or utcnow()
        backend = self.backend
        counts = await backend.status_counts(since=now - COUNTS_WINDOW)
        since = (now - dt.timedelta(minutes=CHART_MINUTES - 1)).replace(second=0, microsecond=0)
        series = await backend.throughput(since, now)
        failed = await backend.query(ResultQuery(statuses=frozenset({TaskStatus.FAILED}), limit=8))
        workers = await self.workers(now)
        online = [worker for worker in workers if worker.online]
        queues = await self.queue_totals(workers)
        every_schedule = await self.manager.list_schedules()
        schedules = [schedule for schedule in every_schedule if schedule["enabled"]]
        return {
            "stats": {
                "tasks": _by_status(counts),
                "registered_tasks": len(self.manager.app.registry),
                "workers_online": len(online),
                "broker": self.broker.describe(),
                "backend": backend.describe(),
            },
            "counts": [(status, counts.get(status, 0)) for status in TaskStatus],
            "counts_since": now - COUNTS_WINDOW,
            "throughput": series,
            "finished_last_hour": (
                sum(p.succeeded for p in series),
                sum(p.failed for p in series),
            ),
            "recent_failed_tasks": failed.results,
            "workers": online[:OVERVIEW_WORKERS],
            "workers_online": len(online),
            "queues": queues,
            "scheduled_count": await self.broker.scheduled_count(),
            "schedules": schedules[:8],
            "total_schedules": len(every_schedule),
        }

    async def get_stats_data(self, now: dt.datetime | None = None) -> dict[str, Any]:
        """Counts per status over :data:`COUNTS_WINDOW`, workers online, queue totals,
        delayed messages and registered tasks (the API's stats)."""
        now = now or utcnow()
        counts = await self.backend.status_counts(since=now - COUNTS_WINDOW)
        workers = await self.workers(now)
        return {
            "tasks": _by_status(counts),
            "counts_since": now - COUNTS_WINDOW,
            "workers_online": sum(1 for worker in workers if worker.online),
            "queues": await self.queue_totals(workers),
            "scheduled_count": await self.broker.scheduled_count(),
            "registered_tasks": len(self.manager.app.registry),
            "broker": self.broker.describe(),
            "backend": self.backend.describe(),
        }

    async def get_metrics_data(
        self, window: dt.timedelta = METRICS_WINDOW, now: dt.datetime | None = None
    ) -> dict[str, Any]:
        """What a metrics scrape reports: the result store's :class:`WindowStats` over
        ``window``, queue levels, dead letters per queue (up to :data:`DEAD_LETTER_SCAN`),
        workers, and the scheduler's lateness (how far past due its earliest enabled
        schedule is) and last pass."""
        now = now or utcnow()
        broker = self.broker
        dead: dict[str, int] | None = None
        if broker.supports_dead_letters:
            dead = defaultdict(int)
            for letter in await broker.dead_letter_list(DEAD_LETTER_SCAN):
                dead[letter.queue] += 1
        lateness = last_pass = None
        scheduler = self.manager.scheduler
        if scheduler is not None:
            due = await scheduler.store.next_due_at()
            lateness = max(0.0, (now - due).total_seconds()) if due is not None else 0.0
            last_pass = await scheduler.store.last_pass()
        return {
            "window": window,
            "stats": await self.backend.window_stats(now - window),
            "levels": await broker.queue_levels(),
            "scheduled": await broker.scheduled_count(),
            "dead_letters": dead,
            "workers": await self.workers(now),
            "scheduler_lateness": lateness,
            "beat_last_pass": last_pass,
            "now": now,
        }

    # -- tasks -------------------------------------------------------------------------------

    async def get_tasks_page_data(
        self, status: str | None = None, limit: int = 200, *, query: ResultQuery | None = None
    ) -> dict[str, Any]:
        """One page of results: by ``status`` and ``limit`` (the first API), or by
        ``query`` (filters, search, order and cursor)."""
        if query is None:
            statuses = frozenset({TaskStatus(status)}) if status else frozenset()
            query = ResultQuery(statuses=statuses, limit=min(limit, 200))
        page = await self.backend.query(query)
        return {
            "tasks": page.results,
            "next_cursor": page.next_cursor.encode() if page.next_cursor else None,
            "search_limited": page.search_limited,
            "query": query,
            "task_names": sorted(spec.name for spec in self.manager.app.registry),
            "queue_names": await self.queue_names(),
            "workers": [w.id for w in await self.workers()],
        }

    async def get_task_detail(self, task_id: str, *, full: bool = False) -> dict[str, Any] | None:
        """Everything about one task: timeline, arguments, result, error, retry chain,
        the schedules of its task; values cut unless ``full``; None if unknown."""
        data = await self.get_task_data(task_id)
        if data is None:
            return None
        result = data["task"]
        limit = None if full else PREVIEW_CHARS
        args, args_cut = Formatter.pretty_json(list(result.args), limit)
        kwargs, kwargs_cut = Formatter.pretty_json(result.kwargs, limit)
        value, value_cut = Formatter.pretty_json(result.result, limit)
        traceback = mask_urls(result.traceback or "")
        traceback_cut = not full and len(traceback) > TRACEBACK_PREVIEW
        schedules = [
            schedule
            for schedule in await self.manager.list_schedules()
            if schedule["task_name"] == result.task_name
        ]
        return {
            **data,
            "timeline": timeline(result),
            "args": args,
            "kwargs": kwargs,
            "result": value,
            "truncated": args_cut or kwargs_cut or value_cut or traceback_cut,
            "error": mask_urls(result.error or ""),
            "traceback": traceback[:TRACEBACK_PREVIEW] if traceback_cut else traceback,
            "schedules": schedules[:20],
        }

    async def get_task_data(self, task_id: str) -> dict[str, Any] | None:
        """One result with its retry links and whether it can still be revoked, values
        whole (the API's detail); None if unknown."""
        result = await self.backend.get(task_id)
        if result is None:
            return None
        retry_of, retried_as = await self.backend.retry_links(task_id)
        return {
            "task": result,
            "retry_of": retry_of,
            "retried_as": retried_as,
            "registered": result.task_name in self.manager.app.registry,
            "can_revoke": result.status in _WAITING,
        }

    async def submit_task(self, data: Any) -> str:
        """Submit a registered task by name from JSON-like ``data`` (see
        :func:`~flowrra.ui.submission.parse_submission`); the new task id.
        ``SubmissionError`` names the fields that are wrong."""
        app = self.manager.app
        return await submit(app, parse_submission(data, app))

    async def retry_task(self, task_id: str) -> str | None:
        """Submit a task again with its arguments, queue and priority; the new task id,
        or None if the original is unknown. ``ValueError`` if its task is not registered."""
        original = await self.backend.get(task_id)
        if original is None:
            return None
        if original.task_name is None or original.task_name not in self.manager.app.registry:
            raise ValueError(f"{original.task_name!r} is not a registered task any more")
        new_id = new_task_id()
        submitter = self.manager.app.options(
            task_id=new_id, queue=original.queue, priority=original.priority
        )
        await submitter.submit(original.task_name, *original.args, **original.kwargs)
        await self.backend.link_retry(new_id, task_id)
        return new_id

    async def revoke_task(self, task_id: str) -> bool:
        """Revoke a task that has not started; False if it started or finished already."""
        result = await self.backend.get(task_id)
        if result is None or result.status not in _WAITING:
            return False
        return await self.manager.app.revoke(task_id)

    # -- workers -----------------------------------------------------------------------------

    async def workers(self, now: dt.datetime | None = None) -> list[WorkerView]:
        """Every worker seen within the retention time, online ones first."""
        seen = await self.broker.workers_seen(self.worker_retention)
        return worker_views(seen, now or utcnow())

    async def get_workers_page_data(self, now: dt.datetime | None = None) -> dict[str, Any]:
        workers = await self.workers(now)
        return {
            "workers": workers,
            "online": sum(1 for worker in workers if worker.online),
            "retention": self.worker_retention,
        }

    async def get_worker_detail(
        self, worker_id: str, now: dt.datetime | None = None
    ) -> dict[str, Any] | None:
        """One worker, its active tasks with how long they have run, its recent results."""
        now = now or utcnow()
        found = [worker for worker in await self.workers(now) if worker.id == worker_id]
        recent = await self.backend.query(ResultQuery(worker=worker_id, limit=20))
        if not found and not recent.results:
            return None
        worker = found[0] if found else None
        active: list[tuple[TaskResult | None, str, float | None]] = []
        if worker is not None and worker.active:
            results = await self.backend.get_many(worker.active[:100])
            for task_id, result in zip(worker.active[:100], results, strict=True):
                started = result.started_at if result is not None else None
                active.append(
                    (result, task_id, (now - started).total_seconds() if started else None)
                )
        return {"id": worker_id, "worker": worker, "active": active, "recent": recent.results}

    async def control_worker(
        self, worker_id: str, command: str, data: Mapping[str, Any], timeout: float = 5.0
    ) -> dict[str, Any] | None:
        """Send a remote-control ``command`` (arguments read from ``data``) to a worker
        through the broker; its reply, or None if none came within ``timeout`` seconds.
        ``ControlError`` for a bad command, ``LookupError`` when no such worker is online,
        ``UnsupportedFeatureError`` when the broker has no remote control."""
        args = command_args(command, data)
        if not any(worker.id == worker_id and worker.online for worker in await self.workers()):
            raise LookupError(f"no online worker {worker_id[:200]!r}")
        return await send_command(self.broker, worker_id, command, args, timeout=timeout)

    # -- queues ------------------------------------------------------------------------------

    async def queue_names(self) -> list[str]:
        """Queues the registry names and the broker knows of."""
        names = {"default", *self.manager.app.registry.queues()}
        names.update(level.queue for level in await self.broker.queue_levels())
        return sorted(names)

    async def queue_totals(self, workers: list[WorkerView] | None = None) -> list[dict[str, Any]]:
        """Per queue: ready, delayed and held messages (None when the broker does not say),
        and the online ``workers`` (default: all seen) that consume it."""
        return queue_totals(
            {"default", *self.manager.app.registry.queues()},
            await self.broker.queue_levels(),
            workers if workers is not None else await self.workers(),
        )

    async def get_queues_page_data(self, dead_limit: int = 100) -> dict[str, Any]:
        """Queue totals and levels, delayed messages, and the dead letters when the broker
        keeps them (``dead_letters`` None otherwise)."""
        broker = self.broker
        dead: list[DeadLetter] | None = None
        if broker.supports_dead_letters:
            dead = await broker.dead_letter_list(dead_limit)
        return {
            "queues": await self.queue_totals(),
            "scheduled_count": await broker.scheduled_count(),
            "dead_letters": dead,
            "broker": broker.describe(),
        }

    async def requeue_dead_letter(self, letter_id: str) -> bool:
        """Put a dead letter's message back on its queue; False if it is gone."""
        return await self.broker.requeue_dead_letter(letter_id)

    async def delete_dead_letter(self, letter_id: str) -> bool:
        return await self.broker.delete_dead_letter(letter_id)

    async def act_on_dead_letter(self, letter_id: str, action: str) -> bool:
        """``requeue`` or ``delete`` a dead letter; False if it is gone.
        ``NotImplementedError`` when the broker keeps none."""
        if action == "requeue":
            return await self.requeue_dead_letter(letter_id)
        return await self.delete_dead_letter(letter_id)

    # -- schedules ---------------------------------------------------------------------------

    async def get_schedules_page_data(self, enabled_only: bool = False) -> dict[str, Any]:
        schedules = await self.manager.list_schedules(enabled_only)
        return {
            "schedules": schedules,
            "total": len(schedules),
            "enabled": sum(1 for schedule in schedules if schedule["enabled"]),
            "has_scheduler": self.manager.scheduler is not None,
        }


def _by_status(counts: Mapping[TaskStatus, int]) -> dict[str, int]:
    return {"total": sum(counts.values()), **{s.value: counts.get(s, 0) for s in TaskStatus}}

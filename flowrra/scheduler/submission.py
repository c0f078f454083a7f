"""Turning the schedules that fired into submitted tasks, a pass at a time."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from ..options import SubmitOptions
from .models import ScheduledTask

if TYPE_CHECKING:
    from ..app import Flowrra

logger = logging.getLogger("flowrra.scheduler")

SubmitCallback = Callable[..., Awaitable[Any]]
#: The namespace of :func:`occurrence_id`'s UUIDs.
OCCURRENCE_NAMESPACE = uuid.UUID("5b0f2a52-3f7e-4c39-9a43-1f6f5e0d6a11")


def occurrence_id(task: ScheduledTask) -> str:
    """The task id of the run of ``task`` due at its ``next_run_at``: the same every time
    that occurrence is submitted, so a beat that fires it again after a crash (see
    :meth:`~flowrra.scheduler.backends.BaseSchedulerBackend.firing`) submits the same task
    id, which result pages show as one task rather than two."""
    due = task.next_run_at.isoformat() if task.next_run_at else ""
    return str(uuid.uuid5(OCCURRENCE_NAMESPACE, f"{task.id}|{task.created_at.isoformat()}|{due}"))


async def submit_fired(
    tasks: Sequence[ScheduledTask],
    app: Flowrra | None,
    callback: SubmitCallback | None,
    *,
    raise_errors: bool = False,
) -> list[tuple[ScheduledTask, str]]:
    """Submit the task of each schedule in ``tasks``; returns (schedule, task id) for those
    submitted. Through ``app``, all of them go in one batch (one write to the result store
    and one to the broker), with each schedule's queue, priority and retry options and the
    occurrence's own task id (:func:`occurrence_id`); through
    ``callback``, one ``await callback(task_name, *args, **kwargs)`` each. A schedule that
    cannot be submitted is logged and skipped; with ``raise_errors`` (the pass is one
    transaction, which then rolls back) a failed batch raises instead."""
    if callback is not None:
        done = []
        for task in tasks:
            try:
                done.append((task, str(await callback(task.task_name, *task.args, **task.kwargs))))
            except Exception:
                logger.exception("Schedule %s could not submit task %r", task.id, task.task_name)
        return done
    assert app is not None
    ready: list[ScheduledTask] = []
    calls = []
    for task in tasks:
        try:
            options = SubmitOptions(
                priority=task.priority,
                queue=task.queue,
                max_retries=task.max_retries,
                retry_delay=task.retry_delay,
                task_id=occurrence_id(task),
            )
            app.registry.get(task.task_name)
        except (ValueError, LookupError) as exc:
            logger.error("Schedule %s could not submit task %r: %s", task.id, task.task_name, exc)
            continue
        ready.append(task)
        calls.append((task.task_name, task.args, task.kwargs, options))
    if not calls:
        return []
    if raise_errors:
        return list(zip(ready, await app.submit_many(calls), strict=True))
    try:
        ids = await app.submit_many(calls)
    except Exception:
        logger.warning(
            "Could not submit the tasks of %d schedule(s); trying once more at once",
            len(calls),
            exc_info=True,
        )
        try:
            ids = await app.submit_many(calls)
        except Exception:
            logger.exception("Could not submit the tasks of %d schedule(s)", len(calls))
            for task in ready:
                logger.error(
                    "Schedule %s (%s): the occurrence due at %s was not submitted: skipped",
                    task.id,
                    task.task_name,
                    task.next_run_at.isoformat() if task.next_run_at else "now",
                )
            return []
    return list(zip(ready, ids, strict=True))

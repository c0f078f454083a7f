"""A backend for Django's Tasks framework that runs ``django.tasks`` code on Flowrra.

::

    TASKS = {
        "default": {
            "BACKEND": "flowrra_django.tasks_backend.FlowrraTaskBackend",
            "QUEUES": ["default", "emails"],
            "OPTIONS": {"MAX_RETRIES": 0, "RETRY_DELAY": 1.0},
        }
    }

Tasks go through the project's Flowrra broker (``FLOWRRA["BROKER_URL"]``), run in
``manage.py flowrra_worker`` and keep their results in Flowrra's result store, named by their
module path. ``QUEUES`` are Flowrra queues; priorities map onto Flowrra's ten levels (see
:mod:`.tasks_mapping`). ``OPTIONS``: ``MAX_RETRIES`` (default 0, as Django's own backends
do not retry) and ``RETRY_DELAY`` for the tasks of this backend.

Django's rule is that ``enqueue`` enqueues at once (its docs suggest ``on_commit``); the
versions of the backport that had ``ENQUEUE_ON_COMMIT`` (a backend key, and a task's
``enqueue_on_commit``) are honoured, and without them ``FLOWRRA["SUBMIT_ON_COMMIT"]``
decides: inside ``transaction.atomic()`` the task is enqueued with the commit. Works with
``django.tasks`` (Django 6) and the ``django_tasks`` backport (Django 5.2).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
from dataclasses import dataclass
from typing import Any

from django.apps import apps as django_apps
from django.core.checks import CheckMessage, Error
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.utils import timezone

from flowrra.events import task_update
from flowrra.registry import validate_options
from flowrra.task import Task as Message
from flowrra.task import TaskResult as FlowrraResult
from flowrra.task import TaskStatus, new_task_id

from . import runtime
from .api import Submission
from .api import options as submit_options
from .conf import flowrra_settings
from .tasks_compat import (
    BaseTaskBackend,
    InvalidTask,
    Task,
    TaskResult,
    TaskResultDoesNotExist,
    TaskResultStatus,
    task_enqueued,
)
from .tasks_discovery import declared_task
from .tasks_mapping import django_result, flowrra_priority, task_for
from .tasks_runner import spec_for

#: ``OPTIONS`` keys and their defaults: a failed Django task is not retried unless asked.
DEFAULT_OPTIONS: dict[str, Any] = {"MAX_RETRIES": 0, "RETRY_DELAY": 1.0}


@dataclass(frozen=True, slots=True, kw_only=True)
class FlowrraTask(Task):
    """Django's ``Task`` with Flowrra's retry options, for the tasks of a
    ``FlowrraTaskBackend``: ``@task(max_retries=3, retry_delay=2.0)``; None keeps the
    backend's ``OPTIONS``."""

    max_retries: int | None = None
    retry_delay: float | None = None

    def __post_init__(self) -> None:
        try:
            validate_options(max_retries=self.max_retries, retry_delay=self.retry_delay)
        except ValueError as exc:
            raise InvalidTask(str(exc)) from None
        Task.__post_init__(self)  # a slots dataclass has no zero-argument super()


class FlowrraTaskBackend(BaseTaskBackend):
    """Django's task backend interface on Flowrra's broker, worker and result store."""

    task_class = FlowrraTask
    supports_defer = True
    supports_async_task = True
    supports_get_result = True
    supports_priority = True

    def __init__(self, alias: str, params: dict[str, Any]) -> None:
        super().__init__(alias, params)
        self.enqueue_on_commit: bool | None = params.get("ENQUEUE_ON_COMMIT")
        options = {**DEFAULT_OPTIONS, **self.options}
        self.max_retries = options["MAX_RETRIES"]
        self.retry_delay = options["RETRY_DELAY"]

    # -- validating -----------------------------------------------------------------------

    def validate_task(self, task: Task) -> None:
        """Django's checks, then Flowrra's rule for queue names; registers the task in the
        project's Flowrra app (so workers, the admin and schedules know it)."""
        super().validate_task(task)
        try:
            validate_options(queue=task.queue_name)
        except ValueError as exc:
            raise InvalidTask(str(exc)) from None
        if django_apps.apps_ready:
            self._register(task)

    def _register(self, task: Task) -> str:
        registry = runtime.get_app().registry
        name = task.module_path
        if name not in registry:
            registry.register(spec_for(task, self))
        return name

    # -- enqueueing -------------------------------------------------------------------------

    def enqueue(self, task: Task, args: Any, kwargs: Any) -> TaskResult:
        """Queue ``task(*args, **kwargs)``; inside ``transaction.atomic()`` on commit (see the
        module's docs). Arguments that are not JSON raise ``TypeError`` and nothing is
        queued.

        With the ``django://`` broker on the default database the task is written on the
        caller's connection: inside a transaction it commits (or rolls back) with it."""
        self.validate_task(task)
        result = self._new_result(task, args, kwargs)
        submission = self._submission(task, result)
        atomic = connections[DEFAULT_DB_ALIAS].in_atomic_block
        wait = atomic and self._waits_for_commit(task)
        if (wait or not atomic) and self._write_here(task, submission, result):
            transaction.on_commit(functools.partial(self._announce, result))
        elif wait:
            transaction.on_commit(functools.partial(self._send, task, submission, result))
        else:
            self._send(task, submission, result)
        return result

    async def aenqueue(self, task: Task, args: Any, kwargs: Any) -> TaskResult:
        """:meth:`enqueue` for async code (which never waits for a commit)."""
        self.validate_task(task)
        result = self._new_result(task, args, kwargs)
        submission = self._submission(task, result)
        await submission.asubmit(self._register(task), *result.args, **result.kwargs)
        object.__setattr__(result, "enqueued_at", timezone.now())
        await task_enqueued.asend(type(self), task_result=result)
        return result

    def _new_result(self, task: Task, args: Any, kwargs: Any) -> TaskResult:
        return TaskResult(
            task=task,
            id=new_task_id(),
            status=TaskResultStatus.READY,
            enqueued_at=None,
            started_at=None,
            finished_at=None,
            last_attempted_at=None,
            args=args,
            kwargs=kwargs,
            backend=self.alias,
            errors=[],
            worker_ids=[],
        )

    def _submission(self, task: Task, result: TaskResult) -> Submission:
        run_after = task.run_after
        if run_after is not None and timezone.is_naive(run_after):
            run_after = timezone.make_aware(run_after)
        return submit_options(
            on_commit=False,
            priority=flowrra_priority(task.priority),
            queue=task.queue_name,
            eta=run_after.astimezone(dt.UTC) if run_after is not None else None,
            task_id=result.id,
        )

    def _waits_for_commit(self, task: Task) -> bool:
        for choice in (getattr(task, "enqueue_on_commit", None), self.enqueue_on_commit):
            if choice is not None:
                return bool(choice)
        return bool(flowrra_settings()["SUBMIT_ON_COMMIT"])

    def _send(self, task: Task, submission: Submission, result: TaskResult) -> None:
        submission.submit(self._register(task), *result.args, **result.kwargs)
        object.__setattr__(result, "enqueued_at", timezone.now())
        self._announce(result)

    def _announce(self, result: TaskResult) -> None:
        task_enqueued.send(type(self), task_result=result)

    def _write_here(self, task: Task, submission: Submission, result: TaskResult) -> bool:
        """Store and enqueue on this thread's connection when the ``django://`` broker and
        the results live in the default database; False otherwise."""
        from .brokers import DatabaseBroker

        app = runtime.get_app()
        loop = runtime.loop()  # the app is connected from here on
        broker, backend = app.broker, app.backend
        if not isinstance(broker, DatabaseBroker) or broker.alias != DEFAULT_DB_ALIAS:
            return False
        spec = app.registry.get(self._register(task))
        spec.check_arguments(tuple(result.args), result.kwargs)
        options = submission.options
        message = Message(
            result.id,
            spec.name,
            tuple(result.args),
            result.kwargs,
            spec.max_retries,
            spec.retry_delay,
            0,
            options.priority if options.priority is not None else spec.priority,
            False,
            options.queue or spec.queue,
            options.eta_timestamp(),
            spec.timeout,
            timezone.now(),
        )
        pending = FlowrraResult.for_task(message, TaskStatus.PENDING)
        assert backend is not None
        if not broker.store_and_enqueue_here(backend, [pending], [message]):
            return False
        object.__setattr__(result, "enqueued_at", message.submitted_at)
        if app.events.has_subscribers:
            asyncio.run_coroutine_threadsafe(app.events.emit(task_update(pending)), loop)
        if app.worker is not None:  # a task of this worker enqueued it: look again
            loop.call_soon_threadsafe(broker.wakeup)
        return True

    # -- results ----------------------------------------------------------------------------

    def get_result(self, result_id: str) -> TaskResult:
        """The result of the task enqueued as ``result_id``, in whatever state it is;
        ``TaskResultDoesNotExist`` if there is none."""
        stored = runtime.run_sync(lambda: runtime.get_app().get_result(result_id))
        return self._django_result(result_id, stored)

    async def aget_result(self, result_id: str) -> TaskResult:
        """:meth:`get_result` for async code."""
        stored = await runtime.run_async(lambda: runtime.get_app().get_result(result_id))
        return self._django_result(result_id, stored)

    def _django_result(self, result_id: str, stored: FlowrraResult | None) -> TaskResult:
        declared = declared_task(stored.task_name) if stored is not None else None
        if stored is None or declared is None:
            raise TaskResultDoesNotExist(result_id)
        try:
            task = task_for(declared, stored.queue, stored.priority)
        except InvalidTask:  # the queue left QUEUES since
            task = declared
        return django_result(stored, task, self.alias)

    # -- system checks ----------------------------------------------------------------------

    def check(self, **kwargs: Any) -> list[CheckMessage]:
        """Report queue names Flowrra cannot use and bad ``OPTIONS``."""
        messages = list(super().check(**kwargs))
        where = f"TASKS[{self.alias!r}]"
        for queue in sorted(self.queues):
            try:
                validate_options(queue=queue)
            except ValueError as exc:
                messages.append(
                    Error(f"{where}['QUEUES']: {exc}", hint="Rename the queue.", id="flowrra.E010")
                )
        problems = _option_problems(self.options)
        if not django_apps.is_installed("flowrra_django"):
            problems.append("FlowrraTaskBackend needs 'flowrra_django' in INSTALLED_APPS")
        messages += [
            Error(f"{where}: {problem}", hint="See FlowrraTaskBackend's docs.", id="flowrra.E011")
            for problem in problems
        ]
        return messages


def _option_problems(options: Any) -> list[str]:
    if not isinstance(options, dict):
        return [f"OPTIONS must be a dict, got {options!r}"]
    problems = [
        f"OPTIONS has an unknown key {key!r}; known: {', '.join(DEFAULT_OPTIONS)}"
        for key in sorted(set(options) - set(DEFAULT_OPTIONS), key=str)
    ]
    try:
        validate_options(
            max_retries=options.get("MAX_RETRIES"), retry_delay=options.get("RETRY_DELAY")
        )
    except ValueError as exc:
        problems.append(f"OPTIONS: {exc}")
    return problems

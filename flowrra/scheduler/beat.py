"""The beat: the loop that fires due schedules, apart from how schedules are defined.

It sleeps until the next schedule is due (never longer than ``check_interval``, which bounds
how late a change made by another process is seen), and wakes at once when :meth:`Beat.wake`
says a schedule changed. Each pass claims its due occurrences in the store and submits
them, each under a task id of its own occurrence, so beats sharing a store never fire one
twice; docs/guarantees.md says what a beat killed half-way leaves, store by store.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import socket
from typing import TYPE_CHECKING

from .backends import BaseSchedulerBackend, Claim
from .clock import Clock, SystemClock
from .models import (
    DEFAULT_MISFIRE_GRACE,
    Decision,
    MissedPolicy,
    ScheduledTask,
    count_passed_over,
    decide,
)
from .submission import SubmitCallback, submit_fired

if TYPE_CHECKING:
    from ..app import Flowrra

logger = logging.getLogger(__name__)

SCHEDULE_FIRED = "schedule.fired"
#: How often (seconds) a running beat records its last pass in its store.
PASS_RECORD_INTERVAL = 5.0
#: This process's name among beats.
BEAT_NAME = f"{socket.gethostname()}:{os.getpid()}"


class Beat:
    """Fires the due schedules of ``store`` through ``app`` (or a submit callback).

    ``clock`` replaces real time (see :class:`ManualClock`); ``misfire_grace`` is how late
    (seconds) a run may be found before its schedule's missed policy applies;
    ``batch_size`` is how many due schedules are claimed at once.
    """

    def __init__(
        self,
        store: BaseSchedulerBackend,
        check_interval: float = 60.0,
        *,
        app: Flowrra | None = None,
        clock: Clock | None = None,
        misfire_grace: float = DEFAULT_MISFIRE_GRACE,
        batch_size: int = 500,
    ) -> None:
        if not isinstance(check_interval, int | float) or check_interval <= 0:
            raise ValueError(
                f"check_interval must be a number of seconds > 0, got {check_interval!r}"
            )
        if not isinstance(misfire_grace, int | float) or misfire_grace < 0:
            raise ValueError(
                f"misfire_grace must be a number of seconds >= 0, got {misfire_grace!r}"
            )
        self.store = store
        self.check_interval = float(check_interval)
        self.app = app
        self.clock: Clock = clock or SystemClock()
        self.misfire_grace = float(misfire_grace)
        self.batch_size = batch_size
        self._submit_callback: SubmitCallback | None = None
        self._loop_task: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()
        self._stopping = False
        self._asleep_until: dt.datetime | None = None
        self._pass_recorded_at: dt.datetime | None = None

    def set_submit_callback(self, callback: SubmitCallback) -> None:
        """Submit through ``await callback(task_name, *args, **kwargs)`` instead of the app
        (``scheduler.set_submit_callback(app.submit)`` works; a schedule's queue and
        priority options are then not applied)."""
        self._submit_callback = callback

    @property
    def is_running(self) -> bool:
        return self._loop_task is not None and not self._loop_task.done()

    def wake(self) -> None:
        """A schedule changed: look at the store again now instead of at the planned time."""
        self._changed.set()

    async def start(self) -> None:
        """Connect the store and start firing schedules in the background."""
        if self.is_running:
            return
        if self._submit_callback is None and self.app is None:
            raise ValueError(
                "The scheduler has nowhere to submit tasks: create it with "
                "app.create_scheduler(), or call scheduler.set_submit_callback(app.submit)"
            )
        await self.store.connect()
        self._stopping = False
        self._loop_task = asyncio.create_task(self._run(), name="flowrra-scheduler")

    async def stop(self, timeout: float = 10.0) -> None:
        """Stop firing and close the store. A pass in progress may finish its submissions
        for up to ``timeout`` seconds, so a claimed occurrence is not dropped half-way."""
        task, self._loop_task = self._loop_task, None
        if task is not None:
            self._stopping = True
            self._changed.set()
            try:
                await asyncio.wait_for(task, timeout)
            except TimeoutError:
                logger.warning("Scheduler pass still running after %g s; cancelled", timeout)
        await self.store.close()

    async def run_pending(self) -> list[str]:
        """Fire every schedule due now (one pass of the background loop); returns the ids
        of the schedules this scheduler fired."""
        fired: list[str] = []
        while True:
            now = self.clock.now()
            due = await self.store.list_due(now, self.batch_size)
            if not due:
                return fired
            plans = [(task, self._decide(task, now)) for task in due]
            # where the store allows it, the claims commit after the submissions: a pass
            # killed half-way leaves its occurrences due (see BaseSchedulerBackend.firing)
            async with self.store.firing(self.app) as held:
                won = await self.store.claim(
                    [Claim(t.id, t.next_run_at, d.next_run_at, d.fire, now) for t, d in plans]
                )
                claimed = [(task, decision) for task, decision in plans if task.id in won]
                firing = [task for task, decision in claimed if decision.fire]
                submitted = await submit_fired(
                    firing, self.app, self._submit_callback, raise_errors=held
                )
            for task, decision in claimed:
                if decision.missed:
                    logger.warning(
                        "Schedule %s (%s) was due at %s: %s",
                        task.id,
                        task.task_name,
                        task.next_run_at,
                        "running it once now" if decision.fire else "skipped (missed_policy=skip)",
                    )
                if decision.passed_over:
                    self._log_passed_over(task, decision, now)
            for task, task_id in submitted:
                await self._fired(task, task_id)
                fired.append(task.id)
            if len(due) < self.batch_size:
                return fired

    def _log_passed_over(self, task: ScheduledTask, decision: Decision, now: dt.datetime) -> None:
        times = decision.passed_over
        count = count_passed_over(task, now, len(times))
        listed = ", ".join(moment.isoformat() for moment in times)
        if count > len(times):
            listed += f" and {count - len(times)} more"
        logger.warning(
            "Schedule %s (%s): %d later occurrence(s) passed while the scheduler could not "
            "run (%s): %s",
            task.id,
            task.task_name,
            count,
            listed,
            "covered by this one run (missed_policy=run_once)"
            if decision.fire and task.missed_policy is MissedPolicy.RUN_ONCE
            else "skipped (missed_policy=skip)",
        )

    def _decide(self, task: ScheduledTask, now: dt.datetime) -> Decision:
        try:
            return decide(task, now, self.misfire_grace)
        except (ValueError, TypeError, ImportError) as exc:
            logger.error("Schedule %s is invalid and was disabled: %s", task.id, exc)
            return Decision(False, None)

    async def _fired(self, task: ScheduledTask, task_id: str) -> None:
        due = task.next_run_at.isoformat() if task.next_run_at else None
        logger.info("Schedule %s due %s: submitted %s as %s", task.id, due, task.task_name, task_id)
        if self.app is not None and self.app.events.has_subscribers:
            await self.app.events.emit(
                {
                    "type": SCHEDULE_FIRED,
                    "schedule": task.id,
                    "task_id": task_id,
                    "task_name": task.task_name,
                    "due": due,
                    "at": self.clock.now().isoformat(),
                }
            )

    async def _run(self) -> None:
        failures = 0
        while not self._stopping:
            self._changed.clear()
            try:
                await self.run_pending()
                await self._record_pass()
                delay = await self._until_next()
                failures = 0
            except Exception:
                failures += 1
                # at once the first time: a dropped database connection is replaced by then
                delay = 0.0 if failures == 1 else 0.25 * 2 ** min(failures, 8)
                delay = min(self.check_interval, delay)
                logger.exception("Scheduler pass failed; retrying in %g s", delay)
            await self._sleep(self.clock.now() + dt.timedelta(seconds=delay))

    async def _record_pass(self) -> None:
        now = self.clock.now()
        recorded = self._pass_recorded_at
        if recorded is None or (now - recorded).total_seconds() >= PASS_RECORD_INTERVAL:
            await self.store.record_pass(BEAT_NAME, now)
            self._pass_recorded_at = now

    async def _until_next(self) -> float:
        due = await self.store.next_due_at()
        if due is None:
            return self.check_interval
        wait = (due - self.clock.now()).total_seconds()
        return min(self.check_interval, max(0.0, wait))

    async def _sleep(self, deadline: dt.datetime) -> None:
        if self._changed.is_set() or deadline <= self.clock.now():
            await asyncio.sleep(0)
            return
        self._asleep_until = deadline
        sleeper = asyncio.ensure_future(self.clock.sleep_until(deadline))
        changed = asyncio.ensure_future(self._changed.wait())
        try:
            await asyncio.wait((sleeper, changed), return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._asleep_until = None
            for waiter in (sleeper, changed):
                waiter.cancel()

    async def settle(self, timeout: float = 5.0) -> None:
        """Return once the background loop has fired everything due and sleeps until a
        later time (or after ``timeout`` real seconds); tests call it after moving a
        :class:`ManualClock`."""
        async with asyncio.timeout(timeout):
            # Polled: what settles it is the caller moving the clock, which sets no event.
            while self.is_running and not self._settled():  # noqa: ASYNC110
                await asyncio.sleep(0)

    def _settled(self) -> bool:
        deadline = self._asleep_until
        return deadline is not None and not self._changed.is_set() and self.clock.now() < deadline

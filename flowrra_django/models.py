"""ORM models: task results, the embedded broker's queue and dead letters, worker heartbeats
and schedules."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from flowrra import serialization
from flowrra.registry import PRIORITY_MAX, PRIORITY_MIN, validate_options
from flowrra.scheduler.cron import get_zone
from flowrra.scheduler.models import normalize_schedule
from flowrra.task import TaskStatus

from .runtime import get_app


class CodecEncoder(json.JSONEncoder):
    """JSONField encoder using Flowrra's codec, so datetimes, UUIDs and Decimals in task
    arguments and results round-trip as themselves."""

    def encode(self, o: Any) -> str:
        return serialization.dumps(o)


class CodecDecoder(json.JSONDecoder):
    """The decoder matching :class:`CodecEncoder`."""

    def decode(self, s: str, *args: Any, **kwargs: Any) -> Any:
        return serialization.loads(s)


def _json(**kwargs: Any) -> models.JSONField:
    return models.JSONField(encoder=CodecEncoder, decoder=CodecDecoder, **kwargs)


def _priority_field(**kwargs: Any) -> models.PositiveSmallIntegerField:
    kwargs.setdefault("default", 0)
    kwargs.setdefault("help_text", _("0-9, higher runs first"))
    return models.PositiveSmallIntegerField(
        _("priority"),
        validators=[MinValueValidator(PRIORITY_MIN), MaxValueValidator(PRIORITY_MAX)],
        **kwargs,
    )


#: Help text of a schedule's task options: left empty, the task's own setting applies.
_TASK_DEFAULT = _("empty: the task's own setting")


class TaskResult(models.Model):
    """The state and outcome of one task, written by the ``django://`` result backend."""

    task_id = models.CharField(_("task id"), max_length=255, unique=True)
    task_name = models.CharField(_("task name"), max_length=200)
    status = models.CharField(
        _("status"), max_length=16, choices=[(s.value, s.name.title()) for s in TaskStatus]
    )
    args = _json(default=list, blank=True)
    kwargs = _json(default=dict, blank=True)
    result = _json(null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    error_type = models.CharField(_("error type"), max_length=200, blank=True)
    traceback = models.TextField(_("traceback"), blank=True)
    queue = models.CharField(_("queue"), max_length=100, default="default")
    priority = _priority_field()
    retries = models.PositiveIntegerField(_("retries"), default=0)
    worker = models.CharField(_("worker"), max_length=200, blank=True)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    runtime = models.FloatField(_("runtime (s)"), null=True, blank=True)
    retry_of = models.ForeignKey(
        "self",
        verbose_name=_("retry of"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="retried_as",
        help_text=_("the task this one was resubmitted from"),
    )

    class Meta:
        verbose_name = _("task result")
        verbose_name_plural = _("task results")
        ordering = ("-submitted_at",)
        indexes = [
            models.Index(fields=["-submitted_at"], name="flowrra_result_submitted"),
            models.Index(fields=["status", "-submitted_at"], name="flowrra_result_status"),
            models.Index(fields=["task_name", "-submitted_at"], name="flowrra_result_task"),
            models.Index(fields=["finished_at"], name="flowrra_result_finished"),
            # the dashboard's queue and worker filters, newest first
            models.Index(fields=["queue", "-submitted_at"], name="flowrra_result_queue"),
            models.Index(fields=["worker", "-submitted_at"], name="flowrra_result_worker"),
        ]

    def __str__(self) -> str:
        return f"{self.task_name}[{self.task_id}] {self.status}"


class QueuedMessage(models.Model):
    """A task message in the ``django://`` broker.

    ``ready`` messages wait to be claimed, highest priority first. The others are delayed
    (an eta, a retry's back-off) or held by a worker; ``available_at`` (Unix time) is when
    they become ready: the eta, or the end of the worker's claim, which its heartbeats
    extend.
    """

    task_id = models.CharField(_("task id"), max_length=255, db_index=True)
    queue = models.CharField(_("queue"), max_length=100)
    priority = _priority_field()
    ready = models.BooleanField(_("ready"), default=True)
    available_at = models.FloatField(_("available at (Unix time)"))
    claimed_by = models.CharField(_("claimed by"), max_length=200, null=True, blank=True)
    deliveries = models.PositiveIntegerField(_("deliveries"), default=0)
    revoked = models.BooleanField(
        _("revoked"), default=False, help_text=_("revoked while a worker held it: not to be run")
    )
    payload = _json()
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("queued message")
        verbose_name_plural = _("queued messages")
        indexes = [
            # the claim walks this in order and stops after a batch, whatever the backlog
            models.Index(
                fields=["-priority", "id"],
                name="flowrra_msg_ready",
                condition=models.Q(ready=True),
            ),
            models.Index(
                fields=["available_at"],
                name="flowrra_msg_waiting",
                condition=models.Q(ready=False),
            ),
            models.Index(
                fields=["claimed_by"],
                name="flowrra_msg_claimed",
                condition=models.Q(claimed_by__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.queue}: {self.task_id}"


class DeadLetter(models.Model):
    """A message the ``django://`` broker set aside because no worker can run it: not JSON,
    the wrong shape, nested too deep, or naming a task that is not registered.

    ``message`` is the raw text as it was queued (it may not be JSON at all, hence a text
    field); a huge one keeps only its start (``truncated``). The broker keeps the newest,
    bounded by count and by the total ``size``.
    """

    task_id = models.CharField(_("task id"), max_length=255, blank=True, db_index=True)
    queue = models.CharField(_("queue"), max_length=100, blank=True)
    priority = models.PositiveSmallIntegerField(_("priority"), default=0)
    reason = models.TextField(_("reason"))
    message = models.TextField(_("message"), blank=True)
    size = models.PositiveIntegerField(_("size (bytes)"), default=0)
    truncated = models.BooleanField(
        _("truncated"), default=False, help_text=_("only the start of a huge message was kept")
    )
    created_at = models.DateTimeField(_("dead-lettered at"), db_index=True)

    class Meta:
        verbose_name = _("dead letter")
        verbose_name_plural = _("dead letters")
        ordering = ("-id",)

    def __str__(self) -> str:
        return f"{self.queue or '?'}: {self.task_id or '?'} ({self.reason[:60]})"


class WorkerHeartbeat(models.Model):
    """The last heartbeat of a live worker; rows past ``expires_at`` are dead workers.

    ``claimant`` is the name the worker's broker claims messages under; the ``django://``
    broker gives the messages of an expired claimant back to the queue.
    """

    worker_id = models.CharField(_("worker id"), max_length=200, unique=True)
    claimant = models.CharField(_("claimant"), max_length=200, blank=True, db_index=True)
    info = _json(default=dict)
    last_seen = models.DateTimeField(_("last seen"))
    expires_at = models.DateTimeField(_("expires"), db_index=True)

    class Meta:
        verbose_name = _("worker heartbeat")
        verbose_name_plural = _("worker heartbeats")
        permissions = [("control_worker", _("Can control workers (shut down, pause, resize)"))]

    def __str__(self) -> str:
        return self.worker_id


class BeatPass(models.Model):
    """When each beat process last finished a pass over the schedules (health checks
    and the scheduler-lateness metric read it)."""

    beat = models.CharField(_("beat"), max_length=200, unique=True)
    last_pass_at = models.DateTimeField(_("last pass"), db_index=True)

    class Meta:
        verbose_name = _("beat pass")
        verbose_name_plural = _("beat passes")

    def __str__(self) -> str:
        return self.beat


class ControlMessage(models.Model):
    """A remote-control command waiting in a worker's mailbox (``mailbox`` is its id), or a
    worker's reply (``mailbox`` is ``reply:<id>``); read once, then deleted."""

    mailbox = models.CharField(_("mailbox"), max_length=250, db_index=True)
    payload = _json(default=dict)
    created_at = models.DateTimeField(_("created"), db_index=True)

    class Meta:
        verbose_name = _("control message")
        verbose_name_plural = _("control messages")

    def __str__(self) -> str:
        return self.mailbox


class ScheduledTask(models.Model):
    """A task submitted on a schedule by ``flowrra_beat``.

    ``schedule`` holds a cron expression, an interval in seconds (a decimal string) or an
    ISO 8601 datetime, as ``schedule_type`` says; ``timezone`` blank means
    ``settings.TIME_ZONE``. ``queue`` (blank), ``priority``, ``max_retries`` and
    ``retry_delay`` (NULL) left empty take the task's own settings at each run.
    """

    class ScheduleType(models.TextChoices):
        CRON = "cron", _("cron")
        INTERVAL = "interval", _("interval")
        ONCE = "once", _("once")

    class MissedPolicy(models.TextChoices):
        RUN_ONCE = "run_once", _("run once")
        SKIP = "skip", _("skip")

    id = models.BigAutoField(primary_key=True)
    name = models.CharField(_("name"), max_length=200, unique=True)
    task_name = models.CharField(_("task name"), max_length=200)
    schedule_type = models.CharField(
        _("schedule type"), max_length=16, choices=ScheduleType.choices
    )
    schedule = models.CharField(
        _("schedule"),
        max_length=200,
        help_text=_(
            "cron: 'minute hour day month weekday' (e.g. '*/15 * * * *'); "
            "interval: seconds (e.g. '90'); once: an ISO 8601 datetime"
        ),
    )
    timezone = models.CharField(
        _("time zone"), max_length=64, blank=True, help_text=_("blank: settings.TIME_ZONE")
    )
    args = _json(default=list, blank=True, help_text=_('a JSON list, e.g. [1, "a"]'))
    kwargs = _json(default=dict, blank=True, help_text=_('a JSON object, e.g. {"x": 1}'))
    queue = models.CharField(_("queue"), max_length=100, blank=True, help_text=_TASK_DEFAULT)
    priority = _priority_field(null=True, blank=True, default=None, help_text=_TASK_DEFAULT)
    max_retries = models.PositiveIntegerField(
        _("max retries"), null=True, blank=True, help_text=_TASK_DEFAULT
    )
    retry_delay = models.FloatField(
        _("retry delay (s)"), null=True, blank=True, help_text=_TASK_DEFAULT
    )
    enabled = models.BooleanField(_("enabled"), default=True)
    missed_policy = models.CharField(
        _("missed runs"),
        max_length=16,
        choices=MissedPolicy.choices,
        default=MissedPolicy.RUN_ONCE,
        help_text=_("after downtime: run a missed schedule once, or skip to the next time"),
    )
    description = models.TextField(_("description"), blank=True)
    last_run_at = models.DateTimeField(_("last run"), null=True, blank=True)
    next_run_at = models.DateTimeField(_("next run"), null=True, blank=True)
    total_run_count = models.PositiveIntegerField(_("runs"), default=0)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("scheduled task")
        verbose_name_plural = _("scheduled tasks")
        ordering = ("name",)
        indexes = [models.Index(fields=["enabled", "next_run_at"], name="flowrra_schedule_due")]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """Reject what could never run: an invalid schedule or time zone, an unregistered
        task, arguments that are not a JSON list and object, a bad queue name."""
        errors: dict[str, str] = {}
        zone = self.timezone or settings.TIME_ZONE
        try:
            get_zone(zone)
        except ValueError as exc:
            errors["timezone"] = str(exc)
        else:
            try:
                self.schedule = normalize_schedule(self.schedule_type, self.schedule, zone)
            except ValueError as exc:
                errors["schedule"] = str(exc)
        registry = get_app().registry
        if self.task_name not in registry:
            known = ", ".join(spec.name for spec in registry) or "none"
            errors["task_name"] = (
                f"No task named {self.task_name!r} is registered. Registered tasks: {known}."
            )
        if not isinstance(self.args, list):
            errors["args"] = 'Enter a JSON list of positional arguments, e.g. [1, "a"].'
        if not isinstance(self.kwargs, dict):
            errors["kwargs"] = 'Enter a JSON object of keyword arguments, e.g. {"x": 1}.'
        if self.task_name in registry:
            spec = registry.get(self.task_name)
            self.task_name = spec.name
            if "args" not in errors and "kwargs" not in errors:
                try:
                    spec.check_arguments(tuple(self.args), self.kwargs)
                except TypeError as exc:
                    errors["args"] = str(exc)
        if self.queue:
            try:
                validate_options(queue=self.queue)
            except ValueError as exc:
                errors["queue"] = str(exc)
        if self.retry_delay is not None and self.retry_delay < 0:
            errors["retry_delay"] = "Enter a number of seconds >= 0."
        if errors:
            raise ValidationError(errors)

"""A task submission from a UI or an API: the task's name, its JSON arguments and the
per-call options, checked field by field before anything is enqueued."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..exceptions import TaskNotFoundError

if TYPE_CHECKING:
    from ..app import Flowrra

#: The fields a submission may hold.
SUBMISSION_FIELDS = ("task", "args", "kwargs", "queue", "priority", "countdown", "eta")


class SubmissionError(ValueError):
    """A submission that cannot be enqueued; ``errors`` maps each field to why."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{name}: {message}" for name, message in errors.items()))
        self.errors = errors


@dataclass(frozen=True, slots=True)
class Submission:
    """A checked submission: ``options`` are keyword arguments of ``app.options``."""

    task: str
    args: list[Any]
    kwargs: dict[str, Any]
    options: dict[str, Any] = field(default_factory=dict)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def parse_submission(data: Any, app: Flowrra) -> Submission:
    """Read ``{"task": ..., "args": [...], "kwargs": {...}, "queue", "priority",
    "countdown", "eta"}`` (``eta`` an ISO 8601 time with an offset); ``SubmissionError``
    names every wrong field. Whether the arguments fit the task's signature is checked by
    :func:`submit`, which binds them."""
    if not isinstance(data, Mapping):
        raise SubmissionError({"body": "send a JSON object"})
    errors: dict[str, str] = {}
    for name in sorted(set(data) - set(SUBMISSION_FIELDS), key=str):
        errors[str(name)[:50]] = f"unknown field; known: {', '.join(SUBMISSION_FIELDS)}"
    task = data.get("task")
    if not isinstance(task, str) or not task:
        errors["task"] = "the name of a registered task"
        task = ""
    elif task not in app.registry:
        errors["task"] = f"{task[:200]!r} is not a registered task"
    args = data.get("args", [])
    if not isinstance(args, list):
        errors["args"] = "a JSON list of positional arguments"
    kwargs = data.get("kwargs", {})
    if not isinstance(kwargs, dict):
        errors["kwargs"] = "a JSON object of keyword arguments"
    options: dict[str, Any] = {}
    queue = data.get("queue")
    if queue is not None:
        if not isinstance(queue, str) or not queue or len(queue) > 200:
            errors["queue"] = "a queue name of 1 to 200 characters"
        options["queue"] = queue
    priority = data.get("priority")
    if priority is not None:
        if not isinstance(priority, int) or isinstance(priority, bool):
            errors["priority"] = "a whole number"
        options["priority"] = priority
    countdown = data.get("countdown")
    if countdown is not None:
        if not _is_number(countdown) or not 0 <= countdown <= 10 * 365 * 86400:
            errors["countdown"] = "a number of seconds from 0 to ten years"
        options["countdown"] = countdown
    eta = data.get("eta")
    if eta is not None:
        options["eta"] = _eta(eta, errors)
    if "countdown" in options and "eta" in options:
        errors["eta"] = "give countdown or eta, not both"
    if errors:
        raise SubmissionError(errors)
    return Submission(task, args, kwargs, options)


def _eta(value: Any, errors: dict[str, str]) -> dt.datetime | None:
    moment = None
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            moment = dt.datetime.fromisoformat(value)
    if moment is None or moment.tzinfo is None:
        errors["eta"] = "an ISO 8601 time with its offset, such as 2030-01-31T09:00:00+00:00"
        return None
    return moment


async def submit(app: Flowrra, submission: Submission) -> str:
    """Enqueue a checked submission; its task id. The app binds the arguments to the
    task's signature: ``SubmissionError`` on ``args``/``kwargs`` when they do not fit (or
    cannot be encoded), on the option when the app refuses it."""
    try:
        submitter = app.options(**submission.options)
    except (TypeError, ValueError) as exc:
        raise SubmissionError({_option_named(str(exc), submission): str(exc)}) from None
    try:
        return await submitter.submit(submission.task, *submission.args, **submission.kwargs)
    except TaskNotFoundError as exc:
        raise SubmissionError({"task": str(exc)}) from None
    except TypeError as exc:
        raise SubmissionError({"kwargs" if submission.kwargs else "args": str(exc)}) from None
    except ValueError as exc:
        raise SubmissionError({_option_named(str(exc), submission): str(exc)}) from None


def _option_named(message: str, submission: Submission) -> str:
    for name in submission.options:
        if name in message:
            return name
    return "body"

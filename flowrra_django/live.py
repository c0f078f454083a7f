"""How live dashboard updates reach this site: through the channel layer, or from the database.

* ``"channels"``: every process that runs tasks forwards its events to the channel layer
  group :data:`GROUP` (:mod:`.bridge`); websocket consumers join it. Needs a layer that
  crosses processes, such as ``channels_redis``.
* ``"poll"``: each web process reads what changed from the results table about once a
  second (:mod:`.watcher`) and pushes that to its consumers. Needs no Redis: the embedded
  default (``django://`` broker and results, an in-memory channel layer).

``FLOWRRA["LIVE_UPDATES"] = "auto"`` (the default) picks ``"channels"`` when
``CHANNEL_LAYERS["default"]`` is a layer other than the in-memory one, else ``"poll"``.
"""

from __future__ import annotations

from typing import Any, Literal

from django.conf import settings
from django.core.checks import CheckMessage, Warning, register

from .conf import flowrra_settings

Mode = Literal["channels", "poll", "off"]

#: The channel layer group every consumer of the channels path joins.
GROUP = "flowrra.events"
IN_MEMORY_LAYER = "channels.layers.InMemoryChannelLayer"
#: The fields of a task that travel with its events (results, arguments and tracebacks stay
#: in the result store: pages that show them read them there).
TASK_FIELDS = (
    "task_id",
    "status",
    "task_name",
    "error_type",
    "submitted_at",
    "started_at",
    "finished_at",
    "runtime",
    "retries",
    "queue",
    "priority",
    "worker",
)
WORKER_FIELDS = ("id", "hostname", "pid", "last_heartbeat", "queues", "processed", "failed")


def layer_backend() -> str | None:
    """The dotted path of ``CHANNEL_LAYERS["default"]``'s backend, or None."""
    layers = getattr(settings, "CHANNEL_LAYERS", None) or {}
    default = layers.get("default") if isinstance(layers, dict) else None
    return default.get("BACKEND") if isinstance(default, dict) else None


def mode() -> Mode:
    """Which path live updates take in this process (see the module's docstring)."""
    chosen = flowrra_settings()["LIVE_UPDATES"]
    if chosen in ("channels", "poll", "off"):
        return chosen
    backend = layer_backend()
    return "channels" if backend and backend != IN_MEMORY_LAYER else "poll"


def interval() -> float:
    """Seconds over which a task's states are coalesced to its latest one."""
    return float(flowrra_settings()["LIVE_INTERVAL"])


def slim_task(task: dict[str, Any]) -> dict[str, Any]:
    """What a ``task.update`` event carries of ``TaskResult.to_dict``; errors cut short."""
    slim = {key: task.get(key) for key in TASK_FIELDS}
    error = task.get("error")
    slim["error"] = error[:300] if isinstance(error, str) else error
    return slim


def slim_event(event: dict[str, Any]) -> dict[str, Any] | None:
    """The event as it travels to browsers, or None for events the dashboard ignores."""
    kind = event.get("type")
    if kind == "task.update" and isinstance(event.get("task"), dict):
        return {"type": kind, "task": slim_task(event["task"])}
    if (
        isinstance(kind, str)
        and kind.startswith("worker.")
        and isinstance(event.get("worker"), dict)
    ):
        worker = event["worker"]
        return {"type": kind, "worker": {key: worker.get(key) for key in WORKER_FIELDS}}
    return None


def event_key(event: dict[str, Any]) -> tuple[str, str]:
    """What successive events replace each other by: one task, or one worker."""
    if event["type"] == "task.update":
        return ("task", str(event["task"]["task_id"]))
    if event["type"].startswith("worker."):
        return ("worker", str(event["worker"]["id"]))
    return ("other", event["type"])


@register("flowrra")
def check_live_updates(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """W010: live updates that cannot reach this site's pages from workers elsewhere."""
    values = flowrra_settings()
    if layer_backend() != IN_MEMORY_LAYER or values["LIVE_UPDATES"] in ("off", "poll"):
        if values["LIVE_UPDATES"] != "poll" or _results_in_database(values):
            return []
        return [
            Warning(
                "FLOWRRA['LIVE_UPDATES'] is 'poll', but results are not in this project's "
                "database: the dashboard cannot read changes there.",
                hint="Use RESULT_BACKEND 'django://', or a channels_redis CHANNEL_LAYERS.",
                id="flowrra.W010",
            )
        ]
    if values["LIVE_UPDATES"] == "channels" or not _results_in_database(values):
        return [
            Warning(
                "CHANNEL_LAYERS uses the in-memory layer, which cannot carry events from "
                "workers in other processes to the dashboard.",
                hint="Set CHANNEL_LAYERS to channels_redis (flowrra_django.asgi."
                "redis_channel_layer), or keep results in the database (django://) with "
                "FLOWRRA['LIVE_UPDATES'] = 'auto' so pages read changes from there.",
                id="flowrra.W010",
            )
        ]
    return []


def _results_in_database(values: dict[str, Any]) -> bool:
    return str(values["RESULT_BACKEND"]).lower().startswith("django://")

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

from flowrra.ui.live import TASK_FIELDS, WORKER_FIELDS, event_key, slim_event, slim_task

from .conf import flowrra_settings

__all__ = [
    "GROUP",
    "TASK_FIELDS",
    "WORKER_FIELDS",
    "event_key",
    "interval",
    "mode",
    "slim_event",
    "slim_task",
]

Mode = Literal["channels", "poll", "off"]

#: The channel layer group every consumer of the channels path joins.
GROUP = "flowrra.events"
IN_MEMORY_LAYER = "channels.layers.InMemoryChannelLayer"


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

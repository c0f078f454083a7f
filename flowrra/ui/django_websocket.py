"""Flowrra's first import path of the Django websocket consumer, kept working.

The consumer lives in :mod:`flowrra_django.consumers`; importing this module imports Django
and Channels (``import flowrra`` alone never does).
"""

from __future__ import annotations

from flowrra_django.consumers import FlowrraConsumer, websocket_urlpatterns

CHANNELS_AVAILABLE = True

__all__ = ["CHANNELS_AVAILABLE", "FlowrraConsumer", "websocket_urlpatterns"]

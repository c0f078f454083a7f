"""ASGI helpers: the dashboard's websocket route wrapped as a site needs it, and a
``channels_redis`` layer that survives idle connections.

A project's ``asgi.py``::

    import os
    from django.core.asgi import get_asgi_application

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")
    django_asgi = get_asgi_application()  # first: it sets Django up

    from flowrra_django.asgi import application_with_websockets

    application = application_with_websockets(django_asgi)

and in settings, for live updates across processes and hosts::

    from flowrra_django.asgi import redis_channel_layer

    CHANNEL_LAYERS = {"default": redis_channel_layer("redis://127.0.0.1:6379/1")}
"""

from __future__ import annotations

from typing import Any

#: Passed to redis-py for each channel layer connection. channels_redis waits up to 5 s in a
#: blocking pop; redis-py 8's default socket timeout ends that wait with a ``TimeoutError``
#: and drops idle consumers (channels_redis issue 422). No socket timeout: the pop's own
#: timeout bounds the wait.
REDIS_CONNECTION_OPTIONS: dict[str, Any] = {"socket_timeout": None}


def redis_channel_layer(url: str, *, prefix: str = "asgi", **config: Any) -> dict[str, Any]:
    """A ``CHANNEL_LAYERS`` entry for ``channels_redis`` at ``url`` (``redis://host:port/db``),
    keys under ``prefix``; ``config`` adds or overrides the layer's other options."""
    return {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            "hosts": [{"address": url, **REDIS_CONNECTION_OPTIONS}],
            "prefix": prefix,
            **config,
        },
    }


def websocket_application() -> Any:
    """The dashboard's websocket routes behind the session login and an Origin check
    against ``ALLOWED_HOSTS`` (call it after Django is set up)."""
    from channels.auth import AuthMiddlewareStack
    from channels.routing import URLRouter
    from channels.security.websocket import AllowedHostsOriginValidator

    from .consumers import websocket_urlpatterns

    # the channels stubs want their own subclass of URLPattern, which path() never returns
    router = URLRouter(websocket_urlpatterns)  # type: ignore[arg-type]
    return AllowedHostsOriginValidator(AuthMiddlewareStack(router))


def application_with_websockets(http: Any) -> Any:
    """``http`` (Django's ASGI application) plus the dashboard's websockets."""
    from channels.routing import ProtocolTypeRouter

    return ProtocolTypeRouter({"http": http, "websocket": websocket_application()})

"""The Django adapter: the dashboard's URL patterns from ``flowrra_django``.

Imported only by Django projects; it imports Django lazily, inside :func:`get_urls`.
"""

from __future__ import annotations

from typing import Any


def get_urls() -> list[Any]:
    """The dashboard's URL patterns, as ``include("flowrra_django.urls")`` mounts them:
    ``path("flowrra/", include((get_urls(), "flowrra")))``."""
    from flowrra_django.urls import urlpatterns

    return list(urlpatterns)

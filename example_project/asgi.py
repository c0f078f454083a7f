"""ASGI entry point of the example site: pages over HTTP and the live dashboard's
websocket, served by daphne (``daphne example_project.asgi:application``, or ``runserver``
with daphne in INSTALLED_APPS)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example_project.settings")
django_asgi = get_asgi_application()  # sets Django up before the consumers are imported

from flowrra_django.asgi import application_with_websockets  # noqa: E402

application = application_with_websockets(django_asgi)

"""A Django process for the health tests: migrates its database, then answers each line
on stdin with ``/flowrra/health``'s status and body as one JSON line."""

import json
import sys

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402

call_command("migrate", verbosity=0)
print("ready", flush=True)
for _ in sys.stdin:
    response = Client().get("/flowrra/health")
    print(json.dumps({"status": response.status_code, "body": response.json()}), flush=True)

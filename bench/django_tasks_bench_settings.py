"""Django settings for bench_django_tasks.py: the flowrra_django benchmark site with Django's
Tasks framework on ``FlowrraTaskBackend`` (the tests' ``TASKS``)."""

from django_bench_settings import *  # noqa: F403

from tests.django.settings import TASKS  # noqa: F401

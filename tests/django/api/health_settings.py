"""The test settings on a PostgreSQL server of a health test's own
(``FLOWRRA_HEALTH_DATABASE_URL``), for the health probe subprocess."""

import os

import environ

from tests.django.settings import *  # noqa: F403

DATABASES = {"default": environ.Env.db_url_config(os.environ["FLOWRRA_HEALTH_DATABASE_URL"])}

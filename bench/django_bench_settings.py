"""Django settings for the flowrra_django benchmarks (bench_django_broker.py,
bench_admin_changelist.py): Flowrra's defaults (no FLOWRRA setting), Django's defaults
(CONN_MAX_AGE 0, SQLite rollback journal), on a database of the benchmark's own.

BENCH_DB=sqlite|postgres, BENCH_DB_NAME (a file for SQLite, a database for PostgreSQL),
BENCH_DATABASE_URL (PostgreSQL server, default postgres://root@127.0.0.1:5432/postgres).
"""

import os

import environ

SECRET_KEY = "flowrra-bench-not-secret"
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "tests.django.urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "flowrra_django",
    "tests.django.testapp",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

if os.environ.get("BENCH_DB", "sqlite") == "postgres":
    _db = environ.Env.db_url_config(
        os.environ.get("BENCH_DATABASE_URL", "postgres://root@127.0.0.1:5432/postgres")
    )
    _db["NAME"] = os.environ.get("BENCH_DB_NAME", "flowrra_bench")
else:
    _db = {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("BENCH_DB_NAME", "/tmp/flowrra-bench.sqlite3"),
    }
DATABASES = {"default": _db}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"flowrra": {"handlers": ["console"], "level": "WARNING"}},
}

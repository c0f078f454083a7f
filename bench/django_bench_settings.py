"""Django settings for the flowrra_django benchmarks (bench_django_broker.py,
bench_admin_changelist.py): Flowrra's defaults (no FLOWRRA setting), Django's defaults
(CONN_MAX_AGE 0, SQLite rollback journal), on a database of the benchmark's own.

BENCH_DB=sqlite|postgres|mysql, BENCH_DB_NAME (a file for SQLite, a database for the
servers), BENCH_DATABASE_URL (PostgreSQL server, default
postgres://root@127.0.0.1:5432/postgres), BENCH_MYSQL_URL (MariaDB/MySQL server, default
mysql://root@127.0.0.1:3306/test).
"""

import os

import environ

from tests.django.settings import (  # noqa: F401  (the same site as the tests)
    DEFAULT_AUTO_FIELD,
    INSTALLED_APPS,
    MIDDLEWARE,
    PASSWORD_HASHERS,
    ROOT_URLCONF,
    SECRET_KEY,
    TEMPLATES,
    USE_TZ,
)

DEBUG = False
TIME_ZONE = "UTC"
ALLOWED_HOSTS = ["*"]

if os.environ.get("BENCH_DB", "sqlite") == "postgres":
    _db = environ.Env.db_url_config(
        os.environ.get("BENCH_DATABASE_URL", "postgres://root@127.0.0.1:5432/postgres")
    )
    _db["NAME"] = os.environ.get("BENCH_DB_NAME", "flowrra_bench")
elif os.environ.get("BENCH_DB") == "mysql":
    _db = environ.Env.db_url_config(
        os.environ.get("BENCH_MYSQL_URL", "mysql://root@127.0.0.1:3306/test")
    )
    _db["NAME"] = os.environ.get("BENCH_DB_NAME", "flowrra_bench")
    _db["OPTIONS"] = {"charset": "utf8mb4"}
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

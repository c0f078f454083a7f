"""Settings for the Django tests (pytest-django).

SQLite by default (a file of this test session, so worker subprocesses share it);
PostgreSQL with ``FLOWRRA_TEST_DB=postgres``, at ``FLOWRRA_TEST_DATABASE_URL`` (default
``postgres://root@127.0.0.1:5432/test``), in a test database of this session; MariaDB or
MySQL with ``FLOWRRA_TEST_DB=mysql``, at ``FLOWRRA_TEST_MYSQL_URL`` (default
``mysql://root@127.0.0.1:3306/test``), likewise, through mysqlclient (PyMySQL standing in
where mysqlclient is not installed). A worker
subprocess started by a test inherits the environment and sets ``FLOWRRA_TEST_SUBPROCESS=1``
to open the test database itself.
"""

import importlib
import os
import tempfile

import environ

SECRET_KEY = "flowrra-tests-not-secret"
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
    "django.middleware.common.CommonMiddleware",
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
STATIC_URL = "/static/"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

ENGINE = os.environ.get("FLOWRRA_TEST_DB", "sqlite")
SUBPROCESS = os.environ.get("FLOWRRA_TEST_SUBPROCESS") == "1"
if ENGINE == "postgres":
    _test_name = os.environ.setdefault("FLOWRRA_TEST_DB_NAME", f"flowrra_test_{os.getpid()}")
    _url = os.environ.get("FLOWRRA_TEST_DATABASE_URL", "postgres://root@127.0.0.1:5432/test")
    _db = environ.Env.db_url_config(_url)
    _db["TEST"] = {"NAME": _test_name}
    if SUBPROCESS:
        _db["NAME"] = _test_name
elif ENGINE == "mysql":
    try:
        import MySQLdb  # noqa: F401
    except ImportError:  # mysqlclient needs C headers to build; PyMySQL comes with aiomysql
        import pymysql

        pymysql.install_as_MySQLdb()
    _test_name = os.environ.setdefault("FLOWRRA_TEST_DB_NAME", f"flowrra_test_{os.getpid()}")
    _url = os.environ.get("FLOWRRA_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/test")
    _db = environ.Env.db_url_config(_url)
    _db["OPTIONS"] = {"charset": "utf8mb4", "isolation_level": "read committed"}
    _db["TEST"] = {"NAME": _test_name, "CHARSET": "utf8mb4", "COLLATION": "utf8mb4_bin"}
    if SUBPROCESS:
        _db["NAME"] = _test_name
elif ENGINE == "sqlite":
    _path = os.environ.setdefault(
        "FLOWRRA_TEST_DB_NAME",
        os.path.join(tempfile.gettempdir(), f"flowrra-test-{os.getpid()}.sqlite3"),
    )
    _db = {"ENGINE": "django.db.backends.sqlite3", "NAME": _path, "TEST": {"NAME": _path}}
else:
    raise RuntimeError(f"FLOWRRA_TEST_DB must be 'sqlite', 'postgres' or 'mysql', not {ENGINE!r}")
DATABASES = {"default": _db}

FLOWRRA = {
    "BROKER_OPTIONS": {
        "visibility_timeout": float(os.environ.get("FLOWRRA_TEST_VISIBILITY_TIMEOUT", "30"))
    },
    "HEARTBEAT_INTERVAL": float(os.environ.get("FLOWRRA_TEST_HEARTBEAT_INTERVAL", "1")),
    "POLL_INTERVAL": 0.05,
    # a worker behind PgBouncer (tests/django/test_pgbouncer.py) listens on this one
    "DIRECT_DATABASE_URL": os.environ.get("FLOWRRA_TEST_DIRECT_DATABASE_URL"),
    "IO_WORKERS": 4,
    "CPU_WORKERS": 1,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"flowrra": {"handlers": ["console"], "level": "WARNING"}},
}

# a module of a test's own, imported so that the worker's autoreloader watches it
if os.environ.get("FLOWRRA_TEST_IMPORT"):
    importlib.import_module(os.environ["FLOWRRA_TEST_IMPORT"])

# Django's Tasks framework (Django 6, or the django_tasks backport) on Flowrra
TASKS = {
    "default": {"BACKEND": "flowrra_django.tasks_backend.FlowrraTaskBackend"},
    "retrying": {
        "BACKEND": "flowrra_django.tasks_backend.FlowrraTaskBackend",
        "OPTIONS": {"MAX_RETRIES": 2, "RETRY_DELAY": 0.01},
    },
}

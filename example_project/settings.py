"""Settings of the example site, read from the environment (django-environ) or a ``.env``.

With nothing set it runs on SQLite (``var/example.sqlite3``) with the database as broker
and result store: no Redis, no other server. Variables:

* ``DATABASE_URL``: e.g. ``postgres://user@127.0.0.1:5432/flowrra`` (default SQLite);
* ``FLOWRRA_BROKER_URL``: default ``REDIS_URL`` when set, else ``django://``;
* ``FLOWRRA_RESULT_BACKEND``: default ``django://`` (results in the admin);
* ``REDIS_URL``: e.g. ``redis://127.0.0.1:6379/0``;
* ``CHANNEL_LAYER_URL``: the live dashboard's channel layer (default ``REDIS_URL``; unset:
  the in-memory layer, and pages read changes from the database), keys under
  ``CHANNEL_LAYER_PREFIX`` (default ``example``);
* ``DJANGO_DEBUG``, ``DJANGO_SECRET_KEY``, ``DJANGO_ALLOWED_HOSTS``;
* ``DEMO_ACCOUNT``: ``user:password`` of the demo's account, shown on the first page
  (``example_project/demo.py`` sets it).
"""

from pathlib import Path

import environ

from flowrra_django.asgi import redis_channel_layer

BASE_DIR = Path(__file__).resolve().parent
VAR_DIR = BASE_DIR.parent / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR.parent / ".env")

DEBUG = env.bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="insecure-example-key-for-local-development-only")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])

INSTALLED_APPS = [
    "daphne",  # runserver serves the live dashboard's websocket too
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "flowrra_django",
    "example_project.shop",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "example_project.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # admin/base_site.html: the admin's, with a link to the Flowrra dashboard
        "DIRS": [BASE_DIR / "templates"],
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
WSGI_APPLICATION = "example_project.wsgi.application"
ASGI_APPLICATION = "example_project.asgi.application"

VAR_DIR.mkdir(exist_ok=True)
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'example.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # web, worker and beat share the file: WAL lets readers and the writer work at once
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    )

REDIS_URL = env("REDIS_URL", default="")
FLOWRRA = {
    "BROKER_URL": env("FLOWRRA_BROKER_URL", default=REDIS_URL or "django://"),
    "RESULT_BACKEND": env("FLOWRRA_RESULT_BACKEND", default="django://"),
}
# the layer takes a plain redis:// URL: Flowrra's own options (?key_prefix=...) stay behind
CHANNEL_LAYER_URL = env("CHANNEL_LAYER_URL", default=REDIS_URL.partition("?")[0])
CHANNEL_LAYERS = {
    "default": (
        redis_channel_layer(
            CHANNEL_LAYER_URL, prefix=env("CHANNEL_LAYER_PREFIX", default="example")
        )
        if CHANNEL_LAYER_URL
        else {"BACKEND": "channels.layers.InMemoryChannelLayer"}
    )
}

# Django's own Tasks framework (django.tasks; the django-tasks backport on Django 5.2)
TASKS = {
    "default": {
        "BACKEND": "flowrra_django.tasks_backend.FlowrraTaskBackend",
        "QUEUES": ["default", "reports"],
    }
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
# the first page is the demo's welcome and login; logged in, staff land on the live dashboard
LOGIN_URL = "login"
LOGOUT_REDIRECT_URL = "login"  # the admin's "Log out" too
# the account example_project/demo.py creates (it sets DEMO_ACCOUNT=user:password), shown on
# the first page; unset when the site runs otherwise
_demo_user, _, _demo_password = env("DEMO_ACCOUNT", default="").partition(":")
DEMO_ACCOUNT = {"username": _demo_user, "password": _demo_password} if _demo_user else None

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "flowrra": {"handlers": ["console"], "level": "INFO"},
        "example_project": {"handlers": ["console"], "level": "INFO"},
    },
}

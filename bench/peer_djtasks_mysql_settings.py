"""The peer harness's django-tasks-db settings (``../shared/bench/djbench_settings.py``) on
MariaDB/MySQL: BENCH_MYSQL_URL (server), BENCH_PEER_MYSQL_DB (database)."""

import os
from urllib.parse import urlsplit

from djbench_settings import *  # noqa: F403  (the peer's settings, as the harness runs them)

_server = urlsplit(os.environ.get("BENCH_MYSQL_URL", "mysql://root@127.0.0.1:3306/test"))
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.mysql",
        "NAME": os.environ.get("BENCH_PEER_MYSQL_DB", "peers_bench"),
        "USER": _server.username or "root",
        "PASSWORD": _server.password or "",
        "HOST": _server.hostname or "127.0.0.1",
        "PORT": _server.port or 3306,
        "OPTIONS": {"charset": "utf8mb4"},
    }
}

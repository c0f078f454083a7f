"""System checks ``flowrra.E001``...: the ``FLOWRRA`` setting and the database it uses.

* E001 unknown key, E002 unsupported URL scheme, E003 bad value (see :mod:`.conf`);
* E004 a ``django://`` URL naming a database that is not in ``DATABASES``;
* E005 a ``django://`` broker or result backend on a database other than SQLite,
  PostgreSQL or MySQL 8 / MariaDB 10.6+ (those with ``SELECT ... FOR UPDATE SKIP LOCKED``);
* E006 ``USE_TZ = False`` (Flowrra stores aware UTC datetimes);
* W001 a ``django://`` SQLite database whose ``OPTIONS`` set what concurrent submitters and
  workers cannot live with (flowrra_django fills in what they leave unset);
* W010 live dashboard updates that cannot cross processes (see :mod:`.live`);
* W020 a ``django://`` broker on PostgreSQL reached through a pooler, with no
  ``DIRECT_DATABASE_URL`` for the idle workers' ``LISTEN`` (see :mod:`.wakeups`).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.db import DatabaseError, connections

from .conf import find_problems, flowrra_settings, user_settings
from .database_thread import database_alias
from .live import check_live_updates  # noqa: F401  (registers W010, the live dashboard's)
from .sql import behind_pooler
from .sqlite_options import SQLITE_OPTIONS, sqlite_problems
from .wakeups import POOLED_HINT, pooled_warning

VENDORS = ("sqlite", "postgresql", "mysql")


@register("flowrra")
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Report every problem of ``settings.FLOWRRA`` with a hint for the fix."""
    problems = find_problems(user_settings())
    messages: list[CheckMessage] = [Error(p.message, hint=p.hint, id=p.id) for p in problems]
    if not any(p.id == "flowrra.E002" for p in problems):
        messages += _check_databases()
    if not settings.USE_TZ:
        messages.append(
            Error(
                "flowrra_django needs USE_TZ = True: task times are stored as aware UTC datetimes.",
                hint="Set USE_TZ = True in your settings (Django's default).",
                id="flowrra.E006",
            )
        )
    return messages


def _check_databases() -> list[CheckMessage]:
    values = flowrra_settings()
    messages: list[CheckMessage] = []
    warned: set[str] = set()
    for key in ("BROKER_URL", "RESULT_BACKEND"):
        url = values[key]
        if urlsplit(url).scheme.lower() != "django":
            continue
        alias = database_alias(url)
        if alias not in settings.DATABASES:
            messages.append(
                Error(
                    f"FLOWRRA[{key!r}] is {url!r}, but DATABASES has no {alias!r} database.",
                    hint="Use 'django://' for the default database or 'django://<alias>' "
                    f"with one of: {', '.join(settings.DATABASES)}.",
                    id="flowrra.E004",
                )
            )
        elif connections[alias].vendor not in VENDORS or not _skips_locked(alias):
            messages.append(
                Error(
                    f"FLOWRRA[{key!r}]: django:// supports SQLite, PostgreSQL and MySQL 8 / "
                    f"MariaDB 10.6+; database {alias!r} is {_server(alias)}.",
                    hint=f"Use Redis (FLOWRRA[{key!r}] = 'redis://host:6379/0'), or point "
                    "django://<alias> at a SQLite, PostgreSQL or MySQL 8 / MariaDB 10.6+ "
                    "database.",
                    id="flowrra.E005",
                )
            )
        elif (problems := sqlite_problems(alias)) and alias not in warned:
            warned.add(alias)
            messages.append(
                Warning(
                    f"FLOWRRA[{key!r}] uses the SQLite database {alias!r}, whose OPTIONS "
                    f"say: {'; '.join(problems)}. Concurrent submitters and workers will "
                    "meet 'database is locked'.",
                    hint=f"Set DATABASES[{alias!r}]['OPTIONS'] to include {SQLITE_OPTIONS!r}, "
                    "or remove the options that differ (flowrra_django then applies these).",
                    id="flowrra.W001",
                )
            )
    return messages


@register("flowrra", Tags.database)
def check_listening(
    app_configs: Any = None, databases: Any = None, **kwargs: Any
) -> list[CheckMessage]:
    """W020: idle workers cannot LISTEN, as the ``django://`` broker's PostgreSQL database is
    reached through a pooler and ``DIRECT_DATABASE_URL`` is unset. Asks the server, so it
    runs where Django runs database checks (``migrate``, ``check --database``)."""
    values = flowrra_settings()
    url = values["BROKER_URL"]
    if find_problems(user_settings()) or urlsplit(url).scheme.lower() != "django":
        return []
    alias = database_alias(url)
    if alias not in (databases or ()) or values["DIRECT_DATABASE_URL"]:
        return []
    connection = connections[alias]
    try:
        pooled = connection.vendor == "postgresql" and behind_pooler(connection)
    except DatabaseError:  # a database that does not answer is not judged here
        return []
    if not pooled:
        return []
    hint = f"{POOLED_HINT[0].upper()}{POOLED_HINT[1:]}."
    return [Warning(f"{pooled_warning(alias)}.", hint=hint, id="flowrra.W020")]


def _skips_locked(alias: str) -> bool:
    """False for a MySQL server without ``SKIP LOCKED`` (MySQL < 8, MariaDB < 10.6); the
    server is asked only for MySQL, and one that does not answer is not judged here."""
    connection = connections[alias]
    if connection.vendor != "mysql":
        return True
    try:
        return bool(connection.features.has_select_for_update_skip_locked)
    except DatabaseError:
        return True


def _server(alias: str) -> str:
    connection = connections[alias]
    if connection.vendor != "mysql":
        return str(connection.vendor)
    version = ".".join(map(str, connection.get_database_version()))
    return f"{connection.display_name} {version}"

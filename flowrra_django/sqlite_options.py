"""The SQLite settings a database shared by web processes and workers needs.

The ``django://`` broker writes from several processes at once; SQLite's defaults make the
second writer fail with "database is locked". :func:`tune_sqlite` fills in what a project
left unset when the app loads, and the system checks report what it set otherwise
(:func:`sqlite_problems`).
"""

from __future__ import annotations

from typing import Any

from django.db import connections

#: What a SQLite database shared by web processes and workers needs: writers that queue
#: (IMMEDIATE transactions, a busy timeout in seconds) and readers that never block them (WAL).
SQLITE_OPTIONS: dict[str, Any] = {
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
    "init_command": "PRAGMA journal_mode=WAL;",
}


def sqlite_problems(alias: str) -> list[str]:
    """What the SQLite database ``alias`` lacks of :data:`SQLITE_OPTIONS` (empty for any
    other database, and for an in-memory one)."""
    settings_dict = connections.settings[alias]
    if not _is_sqlite_file(settings_dict):
        return []
    options = settings_dict.get("OPTIONS") or {}
    problems = []
    mode = str(options.get("transaction_mode") or "DEFERRED").upper()
    if mode != "IMMEDIATE":
        problems.append(f"transaction_mode is {mode!r}, not 'IMMEDIATE'")
    timeout = options.get("timeout", 5)
    if not isinstance(timeout, int | float) or timeout < SQLITE_OPTIONS["timeout"]:
        problems.append(f"timeout is {timeout!r} s, less than {SQLITE_OPTIONS['timeout']}")
    if "journal_mode=wal" not in str(options.get("init_command", "")).lower().replace(" ", ""):
        problems.append("init_command does not set PRAGMA journal_mode=WAL")
    return problems


def tune_sqlite(alias: str) -> None:
    """Give the SQLite database ``alias`` the :data:`SQLITE_OPTIONS` its ``OPTIONS`` leave
    unset, for every connection this process opens from now on (the web process's too, so
    its own transactions and the broker's queue for the write lock instead of failing with
    "database is locked"). Values the project set are kept; the system checks report them."""
    settings_dict = connections.settings[alias]
    if not _is_sqlite_file(settings_dict):
        return
    options = settings_dict.setdefault("OPTIONS", {})
    options.setdefault("transaction_mode", SQLITE_OPTIONS["transaction_mode"])
    options.setdefault("timeout", SQLITE_OPTIONS["timeout"])
    init_command = str(options.get("init_command", "")).strip()
    if "journal_mode" not in init_command.lower():
        joined = f"{init_command.rstrip(';')}; " if init_command else ""
        options["init_command"] = joined + SQLITE_OPTIONS["init_command"]


def _is_sqlite_file(settings_dict: dict[str, Any]) -> bool:
    if settings_dict.get("ENGINE") != "django.db.backends.sqlite3":
        return False
    name = str(settings_dict.get("NAME") or "")
    return bool(name) and name != ":memory:" and "mode=memory" not in name

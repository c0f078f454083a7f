"""The statements on the worker's hot path, written once for SQLite and PostgreSQL.

``bulk_create(update_conflicts=True)`` spends about half a millisecond per row in the ORM
on the project machine, more than the rest of a no-op task; these build one plain
statement per batch instead. Both databases accept the same SQL (``RETURNING``,
``ON CONFLICT ... DO UPDATE``); only the claim's row locking differs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model

#: Rows per statement (well under SQLite's 32,766 and PostgreSQL's 65,535 parameters).
CHUNK = 500

UTC = dt.UTC


def _table(connection: BaseDatabaseWrapper, model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _column(connection: BaseDatabaseWrapper, model: type[Model], field: str) -> str:
    return connection.ops.quote_name(model._meta.get_field(field).column)


def datetime_adapter(
    connection: BaseDatabaseWrapper,
) -> Callable[[dt.datetime | None], Any]:
    """How this connection takes an aware datetime: as is on PostgreSQL, and on SQLite as
    the naive text in the connection's time zone that Django itself writes."""
    if connection.vendor != "sqlite":
        return lambda value: value
    zone = connection.timezone

    def to_text(value: dt.datetime | None) -> str | None:
        return None if value is None else str(value.astimezone(zone).replace(tzinfo=None))

    return to_text


def insert(
    connection: BaseDatabaseWrapper,
    model: type[Model],
    fields: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    replace_on: str | None = None,
) -> None:
    """Insert ``rows`` (values for ``fields``). With ``replace_on`` (a unique field among
    ``fields``), a row whose value exists replaces that row's other ``fields``."""
    table = _table(connection, model)
    columns = [_column(connection, model, field) for field in fields]
    on_conflict = ""
    if replace_on is not None:
        key = _column(connection, model, replace_on)
        updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c != key)
        on_conflict = f" ON CONFLICT ({key}) DO UPDATE SET {updates}"
    one_row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    with connection.cursor() as cursor:
        for start in range(0, len(rows), CHUNK):
            chunk = rows[start : start + CHUNK]
            cursor.execute(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
                f"{', '.join([one_row] * len(chunk))}{on_conflict}",
                [value for row in chunk for value in row],
            )


def delete_ids(connection: BaseDatabaseWrapper, model: type[Model], ids: Sequence[Any]) -> int:
    """Delete the rows of ``model`` with these primary keys; returns how many went."""
    table = _table(connection, model)
    pk = _column(connection, model, model._meta.pk.name)
    deleted = 0
    with connection.cursor() as cursor:
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            places = ", ".join(["%s"] * len(chunk))
            cursor.execute(f"DELETE FROM {table} WHERE {pk} IN ({places})", list(chunk))
            deleted += cursor.rowcount
    return deleted


def claim(
    connection: BaseDatabaseWrapper,
    model: type[Model],
    queues: Sequence[str],
    limit: int,
    claimant: str,
    now: float,
    until: float,
) -> list[tuple[Any, ...]]:
    """Claim up to ``limit`` available messages of ``queues`` for ``claimant`` until the
    Unix time ``until``; returns ``(id, priority, payload, deliveries)`` rows, best first.

    One statement: SQLite runs a single writer at a time, PostgreSQL skips the rows another
    worker's claim has locked, so no message is claimed twice.
    """

    def col(field: str) -> str:
        return _column(connection, model, field)

    table = _table(connection, model)
    lock = " FOR UPDATE SKIP LOCKED" if connection.vendor == "postgresql" else ""
    places = ", ".join(["%s"] * len(queues))
    pk, priority, available = col("id"), col("priority"), col("available_at")
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {col('claimed_by')} = %s, {available} = %s, "
            f"{col('deliveries')} = {col('deliveries')} + 1 "
            f"WHERE {pk} IN (SELECT {pk} FROM {table} "
            f"WHERE {col('queue')} IN ({places}) AND {available} <= %s "
            f"ORDER BY {priority} DESC, {pk} LIMIT %s{lock}) "
            f"RETURNING {pk}, {priority}, {col('payload')}, {col('deliveries')}",
            [claimant, until, *queues, now, limit],
        )
        rows = cursor.fetchall()
    rows.sort(key=lambda row: (-row[1], row[0]))
    return rows

"""The statements on the worker's hot path, written once for SQLite and PostgreSQL (with
a branch for MySQL where its SQL differs).

``bulk_create(update_conflicts=True)`` spends about half a millisecond per row in the ORM
on the project machine, more than the rest of a no-op task; these build one plain
statement per batch instead. Both databases accept the same SQL (``RETURNING``,
``ON CONFLICT ... DO UPDATE``); only the claim's row locking differs, and PostgreSQL
receives large inserts by ``COPY``, as psycopg spends more time parsing a statement with
thousands of placeholders than the server spends running it (a few rows, such as a submit,
go faster as one ``INSERT``: ``COPY`` costs extra round trips). On a direct PostgreSQL
connection a statement run again is prepared (:func:`execute`), and the result upsert
carries a guard against a late write (:class:`Keep`). Over 350 lines: one hot path's
statements, each database's variant beside the others so that they are read and changed
together.
"""

from __future__ import annotations

import datetime as dt
import functools
import weakref
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from django.db import transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model
from django.db.models.constants import OnConflict

#: Rows per statement (well under SQLite's 32,766 and PostgreSQL's 65,535 parameters).
CHUNK = 500
#: PostgreSQL receives inserts of at least this many rows by ``COPY``.
COPY_ROWS = 10


def _table(connection: BaseDatabaseWrapper, model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _column(connection: BaseDatabaseWrapper, model: type[Model], field: str) -> str:
    return connection.ops.quote_name(_column_name(model, field))


def _column_name(model: type[Model], name: str) -> str:
    """The column of ``model``'s field ``name`` (a field with a column of its own: not a
    reverse relation or a many-to-many)."""
    field = model._meta.get_field(name)
    column = getattr(field, "column", None)
    if not isinstance(column, str):
        raise TypeError(f"{model.__name__}.{name} has no column of its own")
    return column


def datetime_adapter(
    connection: BaseDatabaseWrapper,
) -> Callable[[dt.datetime | None], Any]:
    """How this connection takes an aware datetime: as is on PostgreSQL, and on SQLite and
    MySQL as the naive text in the connection's time zone that Django itself writes."""
    if connection.vendor == "mysql":
        adapt = connection.ops.adapt_datetimefield_value
        return lambda value: None if value is None else adapt(value)
    if connection.vendor != "sqlite":
        return lambda value: value
    zone = connection.timezone

    def to_text(value: dt.datetime | None) -> str | None:
        return None if value is None else str(value.astimezone(zone).replace(tzinfo=None))

    return to_text


class Keep(NamedTuple):
    """An upsert's guard: ``condition(old, new)`` is the SQL condition under which a stored
    row stays as it is, given functions that name a field's stored value (``old``) and its
    incoming one (``new``). It must be false once field ``first`` holds its incoming value:
    MySQL assigns columns left to right, each assignment seeing those before it, so
    ``first`` is assigned first and the others then agree with it."""

    condition: Callable[[Callable[[str], str], Callable[[str], str]], str]
    first: str


def insert(
    connection: BaseDatabaseWrapper,
    model: type[Model],
    fields: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    replace_on: str | None = None,
    keep: Keep | None = None,
    notify: str | None = None,
) -> None:
    """Insert ``rows`` (values for ``fields``). With ``replace_on`` (a unique field among
    ``fields``), a row whose value exists replaces that row's other ``fields``, unless
    ``keep`` says the stored row stays. With ``notify``, PostgreSQL also sends a ``NOTIFY``
    on that channel (delivered on commit), in the same statement as a small insert."""
    if connection.vendor != "postgresql":
        notify = None
    elif len(rows) >= COPY_ROWS and not (replace_on is not None and behind_pooler(connection)):
        columns = [_column(connection, model, field) for field in fields]
        on_conflict = _on_conflict(connection, model, fields, columns, replace_on, keep)
        _copy(connection, model, ", ".join(columns), rows, on_conflict)
        if notify is not None:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_notify(%s, '')", [notify])
        return
    with connection.cursor() as cursor:
        for start in range(0, len(rows), CHUNK):
            chunk = rows[start : start + CHUNK]
            shape = (model, tuple(fields), len(chunk), replace_on, keep, notify is not None)
            statement = _statement(
                (connection.vendor, *shape),
                functools.partial(
                    _insert_statement,
                    connection,
                    model,
                    fields,
                    len(chunk),
                    replace_on,
                    keep,
                    notify,
                ),
            )
            params = [value for row in chunk for value in row]
            if notify is not None:
                params.append(notify)
            execute(connection, cursor, statement, params)


#: SQL text by what it inserts: building it (quoting every column) costs more than a
#: submit's other Python work.
_statements: dict[tuple[Any, ...], str] = {}
_STATEMENTS_KEPT = 512


def _statement(key: tuple[Any, ...], build: Callable[[], str]) -> str:
    """The statement for ``key``, built by ``build`` the first time."""
    statement = _statements.get(key)
    if statement is None:
        if len(_statements) >= _STATEMENTS_KEPT:
            _statements.clear()
        statement = _statements[key] = build()
    return statement


def _insert_statement(
    connection: BaseDatabaseWrapper,
    model: type[Model],
    fields: Sequence[str],
    count: int,
    replace_on: str | None,
    keep: Keep | None,
    notify: str | None,
) -> str:
    statement = _values_insert(connection, model, fields, count, replace_on, keep)
    if notify is None:
        return statement
    return f"WITH inserted AS ({statement} RETURNING 1) SELECT pg_notify(%s, '')"


def _values_insert(
    connection: BaseDatabaseWrapper,
    model: type[Model],
    fields: Sequence[str],
    count: int,
    replace_on: str | None,
    keep: Keep | None = None,
) -> str:
    """``INSERT INTO table (columns) VALUES (%s, ...) x count [ON CONFLICT ...]``."""
    columns = [_column(connection, model, field) for field in fields]
    one_row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    return (
        f"INSERT INTO {_table(connection, model)} ({', '.join(columns)}) VALUES "
        f"{', '.join([one_row] * count)}"
        f"{_on_conflict(connection, model, fields, columns, replace_on, keep)}"
    )


def _on_conflict(
    connection: BaseDatabaseWrapper,
    model: type[Model],
    fields: Sequence[str],
    columns: list[str],
    replace_on: str | None,
    keep: Keep | None,
) -> str:
    if replace_on is None:
        return ""
    if connection.vendor == "mysql":  # any unique key: ours is the only one besides the id
        return _on_duplicate_key(connection, model, [f for f in fields if f != replace_on], keep)
    key = _column(connection, model, replace_on)
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c != key)
    if keep is None:
        return f" ON CONFLICT ({key}) DO UPDATE SET {updates}"
    table = _table(connection, model)
    kept = keep.condition(
        lambda field: f"{table}.{_column(connection, model, field)}",
        lambda field: f"excluded.{_column(connection, model, field)}",
    )
    return f" ON CONFLICT ({key}) DO UPDATE SET {updates} WHERE NOT ({kept})"


def _on_duplicate_key(
    connection: BaseDatabaseWrapper, model: type[Model], fields: list[str], keep: Keep | None
) -> str:
    """MySQL's ``ON DUPLICATE KEY UPDATE`` of ``fields``, each guarded by ``keep``."""
    names = [_column_name(model, f) for f in fields]
    if keep is None:  # Django's: VALUES() on MariaDB, a row alias on MySQL 8
        return " " + connection.ops.on_conflict_suffix_sql([], OnConflict.UPDATE, names, [])
    quote = connection.ops.quote_name
    mysql: Any = connection  # django.db.backends.mysql's wrapper
    aliased = not mysql.mysql_is_mariadb and mysql.mysql_version >= (8, 0, 19)

    def old(field: str) -> str:
        return quote(_column_name(model, field))

    def new(field: str) -> str:
        return f"new.{old(field)}" if aliased else f"VALUES({old(field)})"

    kept = keep.condition(old, new)
    ordered = [keep.first, *(f for f in fields if f != keep.first)]
    updates = ", ".join(f"{old(f)} = IF({kept}, {old(f)}, {new(f)})" for f in ordered)
    return f"{' AS new' if aliased else ''} ON DUPLICATE KEY UPDATE {updates}"


class Insert(NamedTuple):
    """Rows to insert: values for ``fields`` of ``model``, replacing on ``replace_on``."""

    model: type[Model]
    fields: Sequence[str]
    rows: Sequence[Sequence[Any]]
    replace_on: str | None = None
    keep: Keep | None = None


def insert_together(
    connection: BaseDatabaseWrapper, inserts: Sequence[Insert], *, notify: str
) -> None:
    """PostgreSQL: a few rows into several tables as one statement, with a ``NOTIFY`` on
    ``notify``: one round trip, and all or nothing without a transaction of its own."""
    shapes = tuple((i.model, tuple(i.fields), len(i.rows), i.replace_on, i.keep) for i in inserts)

    def build() -> str:
        parts = [
            f"i{number} AS ({_values_insert(connection, *shape)} RETURNING 1)"
            for number, shape in enumerate(shapes)
        ]
        return f"WITH {', '.join(parts)} SELECT pg_notify(%s, '')"

    statement = _statement(("together", *shapes), build)
    params = [value for insert in inserts for row in insert.rows for value in row]
    with connection.cursor() as cursor:
        execute(connection, cursor, statement, [*params, notify])


#: Per PostgreSQL connection: whether a pooler stands between it and the server.
_pooled: weakref.WeakKeyDictionary[Any, bool] = weakref.WeakKeyDictionary()
#: The server process running a statement; a pooler's clients are told another at connect.
BACKEND_PID = "SELECT pg_backend_pid()"


def behind_pooler(connection: BaseDatabaseWrapper) -> bool:
    """PostgreSQL: True when a pooler (PgBouncer, ...) stands between ``connection`` and the
    server, as the backend running its statements is not the one announced at connect.
    Session state (``SET``, temporary tables, ``LISTEN``) then need not last from one
    transaction to the next, so Flowrra keeps none on such a connection."""
    connection.ensure_connection()
    raw = connection.connection
    if raw not in _pooled:
        with connection.cursor() as cursor:
            cursor.execute(BACKEND_PID)
            (running,) = cursor.fetchone()
        _pooled[raw] = raw.info.backend_pid != running
    return _pooled[raw]


#: Per PostgreSQL connection: the statements it ran, as SQL -> the ``EXECUTE`` of each once
#: it is prepared ("" until then).
_prepared: weakref.WeakKeyDictionary[Any, dict[str, str]] = weakref.WeakKeyDictionary()
#: At most this many prepared statements per connection (a statement's shape depends on its
#: row count, and only small inserts take this path on PostgreSQL: larger ones ``COPY``).
PREPARED_KEPT = 64


def execute(
    connection: BaseDatabaseWrapper, cursor: Any, statement: str, params: Sequence[Any]
) -> None:
    """Run ``statement`` (``%s`` placeholders) with ``params`` on ``cursor``. On PostgreSQL a
    statement run a second time on a connection is prepared and from then on executed by
    name, so that the server parses and plans it once: planning a submit's statement (two
    inserts, one with ``ON CONFLICT``, and a ``NOTIFY``) costs about as much as running it,
    0.15 ms of a 0.65 ms submit on the project machine. Not at the first run, so that a
    connection used once (``CONN_MAX_AGE = 0``) pays no extra round trip; not behind a
    pooler, whose server sessions need not keep what was prepared. A prepared statement
    outlives a transaction rolled back."""
    if not params or connection.vendor != "postgresql":
        cursor.execute(statement, params)
        return
    prepared = _prepared.setdefault(connection.connection, {})
    run = prepared.get(statement)
    if run is None:  # the first run on this connection: as it is
        if len(prepared) < PREPARED_KEPT:
            prepared[statement] = ""
    elif not run and not behind_pooler(connection):  # the second: prepare it
        name = f"flowrra_{sum(1 for done in prepared.values() if done)}"
        run = prepared[statement] = _prepare(cursor, name, statement, len(params))
    if run:
        cursor.execute(run, params)
    else:
        cursor.execute(statement, params)


def _prepare(cursor: Any, name: str, statement: str, count: int) -> str:
    """``PREPARE`` ``statement`` (``count`` ``%s`` placeholders) as ``name``; returns the
    ``EXECUTE`` that runs it with the values as ``%s`` parameters."""
    numbers = iter(range(1, count + 1))
    parts = statement.split("%s")
    numbered = parts[0] + "".join(f"${next(numbers)}{part}" for part in parts[1:])
    cursor.execute(f"PREPARE {name} AS {numbered}")
    return f"EXECUTE {name} ({', '.join(['%s'] * count)})"


#: Per PostgreSQL connection, the set-up statements it has run (see :func:`_once`).
_done: weakref.WeakKeyDictionary[Any, set[str]] = weakref.WeakKeyDictionary()


def _once(connection: BaseDatabaseWrapper, cursor: Any, statement: str) -> None:
    """Run ``statement`` once per database session (a reconnect runs it again)."""
    done = _done.setdefault(connection.connection, set())
    if statement not in done:
        cursor.execute(statement)
        done.add(statement)


def _copy(
    connection: BaseDatabaseWrapper,
    model: type[Model],
    columns: str,
    rows: Sequence[Sequence[Any]],
    on_conflict: str,
) -> None:
    """PostgreSQL: ``COPY`` the rows (encoded in C, no statement to parse per row); for an
    upsert into a temporary table first, then one ``INSERT ... SELECT ... ON CONFLICT``
    (not behind a pooler, where the table made in one transaction may be missing in the
    next)."""
    table = target = _table(connection, model)
    # savepoint=False: inside the caller's transaction (store_and_ack) this adds nothing
    with transaction.atomic(using=connection.alias, savepoint=False), connection.cursor() as cursor:
        if on_conflict:
            target = connection.ops.quote_name(f"flowrra_stage_{model._meta.db_table}")
            _once(
                connection,
                cursor,
                f"CREATE TEMPORARY TABLE IF NOT EXISTS {target} ON COMMIT DELETE ROWS AS "
                f"SELECT {columns} FROM {table} WITH NO DATA",
            )
        with cursor.cursor.copy(f"COPY {target} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        if on_conflict:
            cursor.execute(
                f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {target}{on_conflict}"
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
    """Claim up to ``limit`` ready messages of ``queues`` for ``claimant`` until the Unix
    time ``until``, after making ready what became due by ``now`` (delays that ran out,
    claims that expired); returns ``(id, priority, payload, deliveries, revoked)`` rows,
    best first.

    The claim is one statement: SQLite runs a single writer at a time, PostgreSQL skips
    the rows another worker's claim has locked, so no message is claimed twice (MySQL,
    whose ``UPDATE`` has no ``RETURNING``, selects and updates in one transaction, see
    :func:`_claim_mysql`). The
    conditions repeat the partial indexes' own (``"ready"``, ``NOT "ready"``) so that
    SQLite uses them; the order is the ready index's, so a claim reads one batch, not the
    backlog. Two autocommit statements and no transaction: every round trip counts.
    """

    def col(field: str) -> str:
        return _column(connection, model, field)

    table = _table(connection, model)
    lock = " FOR UPDATE SKIP LOCKED" if connection.vendor == "postgresql" else ""
    places = ", ".join(["%s"] * len(queues))
    pk, priority, available = col("id"), col("priority"), col("available_at")
    ready, claimed_by = col("ready"), col("claimed_by")
    if connection.vendor == "mysql":
        return _claim_mysql(connection, model, queues, limit, claimant, now, until)
    with connection.cursor() as cursor:
        # A queue table filled faster than autovacuum analyzes it has statistics saying it
        # is nearly empty, and the planner then sorts the whole backlog at every claim;
        # without sorting, walking the ready index in order is the only plan. This session
        # runs only Flowrra's own statements (see flowrra_django.database_thread); a
        # pooler's session would pass the setting on to other clients.
        if connection.vendor == "postgresql" and not behind_pooler(connection):
            _once(connection, cursor, "SET enable_sort = off")
        execute(
            connection,
            cursor,
            f"UPDATE {table} SET {ready} = %s, {claimed_by} = NULL "
            f"WHERE NOT {ready} AND {available} <= %s",
            [True, now],
        )
        execute(
            connection,
            cursor,
            f"UPDATE {table} SET {ready} = %s, {claimed_by} = %s, {available} = %s, "
            f"{col('deliveries')} = {col('deliveries')} + 1 "
            f"WHERE {pk} IN (SELECT {pk} FROM {table} WHERE {ready} AND {col('queue')} IN "
            f"({places}) ORDER BY {priority} DESC, {pk} LIMIT %s{lock}) "
            f"RETURNING {pk}, {priority}, {col('payload')}, {col('deliveries')}, "
            f"{col('revoked')}",
            [False, claimant, until, *queues, limit],
        )
        rows = cursor.fetchall()
    rows.sort(key=lambda row: (-row[1], row[0]))
    return rows


def _claim_mysql(
    connection: BaseDatabaseWrapper,
    model: type[Model],
    queues: Sequence[str],
    limit: int,
    claimant: str,
    now: float,
    until: float,
) -> list[tuple[Any, ...]]:
    """:func:`claim` on MySQL 8 and MariaDB 10.6+: lock a batch of ready rows with
    ``FOR UPDATE SKIP LOCKED`` (read committed, so rows another worker holds are skipped
    and no gap is locked), then mark them claimed, in one transaction."""

    def col(field: str) -> str:
        return _column(connection, model, field)

    table = _table(connection, model)
    places = ", ".join(["%s"] * len(queues))
    pk, priority, available = col("id"), col("priority"), col("available_at")
    ready, claimed_by, deliveries = col("ready"), col("claimed_by"), col("deliveries")
    with connection.cursor() as cursor:
        _once(connection, cursor, "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
        cursor.execute(
            f"UPDATE {table} SET {ready} = %s, {claimed_by} = NULL "
            f"WHERE {ready} = %s AND {available} <= %s",
            [True, False, now],
        )
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {pk}, {priority}, {col('payload')}, {deliveries} + 1, {col('revoked')} "
            f"FROM {table} WHERE {ready} = %s AND {col('queue')} IN ({places}) "
            f"ORDER BY {priority} DESC, {pk} LIMIT %s FOR UPDATE SKIP LOCKED",
            [True, *queues, limit],
        )
        rows = list(cursor.fetchall())
        if rows:
            ids = [row[0] for row in rows]
            cursor.execute(
                f"UPDATE {table} SET {ready} = %s, {claimed_by} = %s, {available} = %s, "
                f"{deliveries} = {deliveries} + 1 "
                f"WHERE {pk} IN ({', '.join(['%s'] * len(ids))})",
                [False, claimant, until, *ids],
            )
    return rows

"""A changelist built for large tables: its filters take their choices from the task
registry instead of ``SELECT DISTINCT``, and it never counts the whole table (see
:class:`CappedCountPaginator`)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from ..runtime import get_app


class CappedCountPaginator(Paginator):
    """A paginator that never counts a huge table row by row.

    Unfiltered on PostgreSQL it uses the planner's row estimate; otherwise it counts at
    most ``cap`` rows (an index range scan), so the last page shown is at most
    ``cap / per_page`` and filters narrow further.
    """

    cap = 10_000

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if not isinstance(queryset, QuerySet):
            return len(queryset)
        if not queryset.query.where:
            estimate = _estimated_rows(queryset)
            if estimate is not None and estimate > self.cap:
                return estimate
        return queryset.order_by()[: self.cap].count()


def _estimated_rows(queryset: QuerySet[Any]) -> int | None:
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
            [connection.ops.quote_name(queryset.model._meta.db_table)],
        )
        row = cursor.fetchone()
    return int(row[0]) if row and row[0] >= 0 else None


class RegistryChoiceFilter(admin.SimpleListFilter):
    """A filter whose choices come from the task registry, not from the table."""

    field = ""

    def choices_from_registry(self) -> list[str]:
        raise NotImplementedError

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(value, value) for value in self.choices_from_registry()]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        return queryset.filter(**{self.field: value}) if value else queryset


class TaskNameFilter(RegistryChoiceFilter):
    title = _("task")
    parameter_name = field = "task_name"

    def choices_from_registry(self) -> list[str]:
        return [spec.name for spec in get_app().registry]


class QueueFilter(RegistryChoiceFilter):
    title = _("queue")
    parameter_name = field = "queue"

    def choices_from_registry(self) -> list[str]:
        return sorted({"default"} | get_app().registry.queues())

"""``manage.py flowrra_cleanup``: delete finished task results older than N days.

Deletes in batches (each its own short transaction), so a large table is trimmed without
locking it for long; run it daily from cron, or schedule it with ``flowrra_beat``.
"""

from __future__ import annotations

import argparse
import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from flowrra.task import FINAL_STATES

from ...conf import flowrra_settings
from ...models import TaskResult


def _whole_number(minimum: int) -> Any:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected a whole number >= {minimum}, got {text!r}")
        return value

    return parse


class Command(BaseCommand):
    help = "Delete finished Flowrra task results older than N days (in batches)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days",
            type=_whole_number(0),
            help="keep results finished in the last N days "
            "(default: FLOWRRA['CLEANUP_AFTER_DAYS'])",
        )
        parser.add_argument(
            "--batch-size", type=_whole_number(1), default=1000, help="rows per delete"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        days = options["days"]
        if days is None:
            days = flowrra_settings()["CLEANUP_AFTER_DAYS"]
        cutoff = timezone.now() - dt.timedelta(days=days)
        deleted = delete_finished_before(cutoff, options["batch_size"])
        self.stdout.write(
            f"Deleted {deleted} task result(s) finished before {cutoff:%Y-%m-%d %H:%M} UTC."
        )


def delete_finished_before(cutoff: dt.datetime, batch_size: int) -> int:
    """Delete results in a final state that finished before ``cutoff``; returns how many."""
    old = TaskResult.objects.filter(
        finished_at__lt=cutoff, status__in=[status.value for status in FINAL_STATES]
    )
    total = 0
    while True:
        batch = list(old.values_list("pk", flat=True)[:batch_size])
        if not batch:
            return total
        _, by_model = TaskResult.objects.filter(pk__in=batch).delete()
        total += by_model.get(TaskResult._meta.label, 0)

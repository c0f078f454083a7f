"""Example tasks: async I/O, the async ORM and e-mail, a CPU-bound one, failures and
retries, a chain of tasks that submit their follow-ups, and a report run on a schedule
(the cron schedule of ``migrations/0001_report_schedule.py``)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import math
from urllib.parse import urlsplit

from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db.models import Count
from django.utils import timezone

import flowrra_django
from flowrra.worker import current_task
from flowrra_django import task
from flowrra_django.models import TaskResult

logger = logging.getLogger(__name__)


@task(max_retries=2, retry_delay=2.0, timeout=30)
async def check_url(url: str) -> dict[str, object]:
    """Fetch ``url`` over HTTP (asyncio streams, no extra library) and report the status
    line and size; a connection error is retried twice, with backoff."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(f"only http:// URLs are supported here, got {url!r}")
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port or 80)
    try:
        path = parts.path or "/"
        request = f"GET {path} HTTP/1.0\r\nHost: {parts.hostname}\r\nUser-Agent: flowrra-demo\r\n"
        writer.write(request.encode() + b"\r\n")
        await writer.drain()
        response = await reader.read()
    finally:
        writer.close()
        await writer.wait_closed()
    head, _, body = response.partition(b"\r\n\r\n")
    return {"url": url, "status": head.split(b"\r\n", 1)[0].decode(), "bytes": len(body)}


@task(queue="emails")
async def send_welcome_email(user_id: int) -> str:
    """Look the user up with the async ORM and send a welcome e-mail (printed by the
    console e-mail backend in the worker's output)."""
    user = await get_user_model().objects.aget(pk=user_id)
    address = user.email or f"{user.username}@example.com"
    await sync_to_async(send_mail)(
        "Welcome to the Flowrra demo",
        f"Hello {user.username}, your background tasks are running.",
        "demo@example.com",
        [address],
    )
    return address


@task(cpu_bound=True, timeout=60)
def count_primes(limit: int) -> int:
    """Count the primes below ``limit`` in a worker process (CPU-bound, off the loop)."""
    if limit < 2:
        return 0
    sieve = bytearray([1]) * limit
    sieve[0:2] = b"\x00\x00"
    for n in range(2, math.isqrt(limit - 1) + 1):
        if sieve[n]:
            sieve[n * n :: n] = bytearray(len(range(n * n, limit, n)))
    return sum(sieve)


@task(max_retries=3, retry_delay=1.0)
async def charge_payment(order_id: int, amount: float) -> dict[str, object]:
    """A payment gateway that times out on the first two attempts: watch the task go
    RETRYING twice, then SUCCESS, in the admin."""
    attempt = current_task.get()
    tries = attempt.current_retry if attempt is not None else 0
    await asyncio.sleep(0.2)
    if tries < 2:
        raise TimeoutError(f"payment gateway did not answer (attempt {tries + 1})")
    return {"order": order_id, "charged": amount, "attempts": tries + 1}


@task(max_retries=0)
async def import_rows(csv_text: str) -> int:
    """Import ``name,quantity`` lines; a bad line fails the task with a readable error
    (see its traceback in the admin)."""
    imported = 0
    for number, line in enumerate(csv_text.strip().splitlines(), start=1):
        name, _, quantity = line.partition(",")
        if not name.strip() or not quantity.strip().isdigit():
            raise ValueError(f"line {number}: expected 'name,quantity', got {line!r}")
        imported += 1
    logger.info("imported %d rows", imported)
    return imported


#: The shop's price list, in euros.
PRICES = {"apples": 0.5, "pears": 0.75, "plums": 0.25}


@task(max_retries=0)
async def place_order(order_id: int, items: dict[str, int]) -> dict[str, object]:
    """First step of a chain: price the order, then submit :func:`pack_order`; each step
    submits the next when its own part is done, so every step is a result of its own."""
    unknown = sorted(set(items) - set(PRICES))
    if unknown:
        raise ValueError(f"not sold here: {', '.join(unknown)}")
    total = round(sum(PRICES[name] * quantity for name, quantity in items.items()), 2)
    follow_up = await flowrra_django.asubmit(pack_order, order_id, sum(items.values()))
    return {"order": order_id, "total": total, "next": follow_up}


@task(max_retries=0)  # a retry after the submit below would pack twice
async def pack_order(order_id: int, pieces: int) -> dict[str, object]:
    """Second step: pack ten pieces a box, then submit :func:`ship_order`."""
    await asyncio.sleep(0.3)  # the warehouse at work
    boxes = max(1, math.ceil(pieces / 10))
    follow_up = await flowrra_django.asubmit(ship_order, order_id, boxes)
    return {"order": order_id, "boxes": boxes, "next": follow_up}


@task(max_retries=3, retry_delay=2.0)
async def ship_order(order_id: int, boxes: int) -> dict[str, object]:
    """Last step: book the carrier; the tracking number ends the chain."""
    await asyncio.sleep(0.2)
    return {"order": order_id, "boxes": boxes, "tracking": f"FL{order_id:08d}"}


@task
async def activity_report(hours: int = 1) -> dict[str, object]:
    """The report the demo's cron schedule runs: tasks submitted in the last ``hours``,
    per status and per task, read with the async ORM."""
    since = timezone.now() - dt.timedelta(hours=hours)
    recent = TaskResult.objects.filter(submitted_at__gte=since)
    by_status = {
        row["status"]: row["n"] async for row in recent.values("status").annotate(n=Count("id"))
    }
    by_task = {
        row["task_name"].rsplit(".", 1)[-1]: row["n"]
        async for row in recent.values("task_name").annotate(n=Count("id")).order_by("-n")[:10]
    }
    logger.info("activity in the last %d h: %s", hours, by_status)
    return {"hours": hours, "total": sum(by_status.values()), "status": by_status, "tasks": by_task}

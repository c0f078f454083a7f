"""Live dashboard figures: worker -> websocket client latency, burst delivery, RSS.

    python bench/bench_live.py [--rate 1000] [--seconds 5] [--burst 10000] [--poll-rate 50]

Starts the example site under daphne and a ``flowrra_worker`` (separate processes), logs a
staff websocket client in, and measures, from each task's ``finished_at`` (set in the worker)
to the client's receipt of its ``success`` event:

1. channels_redis path (Redis broker and results, channel layer on Redis, key prefixes of
   its own on ``FLOWRRA_TEST_REDIS_URL``, default db 11): p50/p99 at ``--rate`` tasks/s;
   then a burst of ``--burst`` tasks: events/s delivered, daphne's and the worker's RSS
   before, right after and 5 s after;
2. no-Redis path (``django://`` broker and results on SQLite, in-memory layer: pages read
   the database): p50/p99 at ``--poll-rate`` tasks/s.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REDIS = os.environ.get("FLOWRRA_TEST_REDIS_URL", "redis://127.0.0.1:6379/11")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Site:
    """daphne + a worker on a database and (maybe) Redis of their own."""

    def __init__(self, redis: bool) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="flowrra-bench-live-"))
        self.prefix = f"benchlive-{secrets.token_hex(4)}"
        self.port = free_port()
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{self.dir / 'db.sqlite3'}",
            "DJANGO_SETTINGS_MODULE": "example_project.settings",
            "DJANGO_DEBUG": "false",
            "PYTHONUNBUFFERED": "1",
        }
        for name in (
            "REDIS_URL",
            "CHANNEL_LAYER_URL",
            "FLOWRRA_BROKER_URL",
            "FLOWRRA_RESULT_BACKEND",
        ):
            env.pop(name, None)
        if redis:
            url = f"{REDIS}?key_prefix={self.prefix}"
            env.update(
                FLOWRRA_BROKER_URL=url,
                FLOWRRA_RESULT_BACKEND=url,
                CHANNEL_LAYER_URL=REDIS,
                CHANNEL_LAYER_PREFIX=self.prefix,
            )
        self.env = env
        os.environ.update(env)
        for name in set(os.environ) - set(env):
            del os.environ[name]
        manage = [sys.executable, "manage.py"]
        subprocess.run([*manage, "migrate", "-v0"], cwd=ROOT, env=env, check=True)
        log = (self.dir / "daphne.log").open("wb")
        self.daphne = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "daphne",
                "-b",
                "127.0.0.1",
                "-p",
                str(self.port),
                "example_project.asgi:application",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        wlog = (self.dir / "worker.log").open("wb")
        self.worker = subprocess.Popen(
            [
                *manage,
                "flowrra_worker",
                "--io-workers",
                "200",
                "--prefetch",
                "500",
                "-l",
                "WARNING",
            ],
            cwd=ROOT,
            env=env,
            stdout=wlog,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 1).close()
                break
            except OSError:
                time.sleep(0.2)
        time.sleep(3)  # the worker's start

    def stop(self) -> None:
        for process in (self.worker, self.daphne):
            process.terminate()
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
        if "FLOWRRA_BROKER_URL" in self.env:
            import redis

            client = redis.Redis.from_url(REDIS)
            for pattern in (f"{self.prefix}*",):
                keys = list(client.scan_iter(pattern, count=1000))
                for start in range(0, len(keys), 1000):
                    client.delete(*keys[start : start + 1000])


def session_cookie() -> str:
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.test import Client

    user, _ = User.objects.get_or_create(username="bench", defaults={"is_staff": True})
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


class Socket:
    """A minimal websocket client (server frames are unmasked; we send none)."""

    def __init__(self) -> None:
        self.received: list[tuple[float, dict]] = []

    async def open(self, port: int, cookie: str) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", port, limit=2**24)
        key = base64.b64encode(os.urandom(16)).decode()
        self.writer.write(
            (
                f"GET /flowrra/ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                f"Origin: http://127.0.0.1:{port}\r\nCookie: sessionid={cookie}\r\n\r\n"
            ).encode()
        )
        head = await self.reader.readuntil(b"\r\n\r\n")
        assert b" 101 " in head.split(b"\r\n")[0], head
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        while True:
            first, second = await self.reader.readexactly(2)
            length = second & 0x7F
            if length == 126:
                length = int.from_bytes(await self.reader.readexactly(2))
            elif length == 127:
                length = int.from_bytes(await self.reader.readexactly(8))
            payload = await self.reader.readexactly(length)
            if first & 0x0F == 1:
                at, message = time.time(), json.loads(payload)
                for event in message["events"] if message["type"] == "batch" else [message]:
                    self.received.append((at, event))
            elif first & 0x0F == 8:
                raise RuntimeError(f"closed: {payload!r}")


def latencies(received: list[tuple[float, dict]], since: float) -> list[float]:
    out = []
    for at, event in received:
        task = event.get("task") or {}
        if at >= since and task.get("status") == "success" and task.get("finished_at"):
            out.append(at - datetime.fromisoformat(task["finished_at"]).timestamp())
    return out


def figures(name: str, values: list[float]) -> str:
    if len(values) < 2:
        return f"{name}: {len(values)} events"
    q = statistics.quantiles(values, n=100)
    p50, p99 = statistics.median(values) * 1000, q[98] * 1000
    return f"{name}: n={len(values)} p50={p50:.0f} ms p99={p99:.0f} ms"


async def paced(rate: int, seconds: float) -> int:
    from flowrra_django import runtime

    app = runtime.get_app()
    calls = [("example_project.shop.tasks.import_rows", ["a,1"], {}, None)]
    sent, start, tick = 0, time.monotonic(), 0.05
    while time.monotonic() - start < seconds:
        due = int((time.monotonic() - start) * rate) - sent
        if due > 0:
            await runtime.run_async(lambda due=due: app.submit_many(calls * due))
            sent += due
        await asyncio.sleep(tick)
    return sent


async def burst(site: Site, ws: Socket, size: int, round_: int) -> None:
    """Submit ``size`` tasks at once; what reached the client, and RSS around it."""
    from flowrra_django import runtime

    before = (rss_mb(site.daphne.pid), rss_mb(site.worker.pid))
    app = runtime.get_app()
    start = time.time()
    calls = [("example_project.shop.tasks.import_rows", ["a,1"], {}, None)] * 1000
    for _ in range(size // 1000):
        await runtime.run_async(lambda: app.submit_many(calls))
    submitted = time.time() - start
    await asyncio.sleep(8)
    after = (rss_mb(site.daphne.pid), rss_mb(site.worker.pid))
    await asyncio.sleep(5)
    later = (rss_mb(site.daphne.pid), rss_mb(site.worker.pid))
    events = [(at, event) for at, event in ws.received if at >= start and "task" in event]
    successes = [e["task"] for _, e in events if e["task"].get("status") == "success"]
    span = (events[-1][0] - start) if events else 0.0
    resyncs = sum(1 for at, e in ws.received if at >= start and e["type"] == "resync")
    print(f"burst {round_}: {size} tasks at once (submitted in {submitted:.1f} s)")
    if successes:
        last = max(datetime.fromisoformat(t["finished_at"]).timestamp() for t in successes)
        print(f"  the worker finished them at {len(successes) / (last - start):.0f} tasks/s")
    rate = len(events) / span if span else 0.0
    print(f"  events delivered to the client: {len(events)} in {span:.1f} s = {rate:.0f}/s;")
    print(f"  success seen for {len({t['task_id'] for t in successes})} tasks, {resyncs} resync(s)")
    print(f"  RSS daphne MB: before {before[0]:.0f}, after {after[0]:.0f}, +5 s {later[0]:.0f}")
    print(f"  RSS worker MB: before {before[1]:.0f}, after {after[1]:.0f}, +5 s {later[1]:.0f}")


async def latency(site: Site, title: str, rate: int, seconds: float) -> Socket:
    """Submit ``rate`` tasks a second for ``seconds``; print worker -> client latency."""
    ws = Socket()
    await ws.open(site.port, await asyncio.to_thread(session_cookie))
    await asyncio.sleep(2)  # the first look of the database watcher primes it
    since = time.time()
    sent = await paced(rate, seconds)
    await asyncio.sleep(5)
    print(f"{title}: {rate} tasks/s for {seconds:g} s ({sent} tasks)")
    print("  " + figures("worker -> client latency", latencies(ws.received, since)))
    return ws


async def redis_path(options: argparse.Namespace) -> None:
    site = Site(redis=True)
    try:
        ws = await latency(site, "channels_redis", options.rate, options.seconds)
        for round_ in (1, 2):  # a second burst: does memory grow again, or is it reused?
            await burst(site, ws, options.burst, round_)
    finally:
        site.stop()


async def poll_path(options: argparse.Namespace) -> None:
    site = Site(redis=False)
    try:
        title = "no Redis (django:// on SQLite, the database watcher)"
        await latency(site, title, options.poll_rate, options.seconds)
    finally:
        site.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--burst", type=int, default=10000)
    parser.add_argument("--poll-rate", type=int, default=50)
    parser.add_argument("--only", choices=["redis", "poll"])
    options = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    if options.only is None:  # each path in a process of its own: Django is set up once
        for only in ("redis", "poll"):
            subprocess.run([sys.executable, __file__, *sys.argv[1:], "--only", only], check=True)
    elif options.only == "redis":
        asyncio.run(redis_path(options))
    else:
        asyncio.run(poll_path(options))


if __name__ == "__main__":
    main()

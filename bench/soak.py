"""Soak: a million tasks through one Redis with two worker processes, memory sampled.

    .venv/bin/python bench/soak.py [--tasks 1000000] [--ttl 30] [--every 10]

Starts a redis-server of its own on a free loopback port (no persistence, so its memory is
this run's alone), two ``python -m flowrra worker --app bench.soak:app`` processes, and a
producer that keeps at most ``--backlog`` messages waiting (``submit_many`` batches of
1,000). Results live ``--ttl`` seconds. Every ``--every`` seconds it prints the tasks done,
the rate, the resident memory (RSS) of each worker and of the producer, and Redis's
``used_memory``; at the end it waits for the results to expire and prints Redis's memory
against its baseline. Growth after warm-up would show as a rising RSS column; results that
never expire as Redis memory above the baseline once they are due to be gone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis

from flowrra import BackendConfig, BrokerConfig, Config, Flowrra

ROOT = Path(__file__).resolve().parent.parent
URL = os.environ.get("FLOWRRA_SOAK_REDIS_URL", "redis://127.0.0.1:6379/13?key_prefix=soak")
TTL = int(os.environ.get("FLOWRRA_SOAK_TTL", "30"))

app = Flowrra(Config(broker=BrokerConfig(url=URL), backend=BackendConfig(url=URL, ttl=TTL)))


@app.task(max_retries=0)
async def noop(x: int) -> int:
    return x


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` in MB (0 once it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except FileNotFoundError:
        pass
    return 0.0


def redis_mb(client: redis.Redis) -> float:
    return float(client.info("memory")["used_memory"]) / 1e6


async def produce(producer: Flowrra, total: int, backlog: int) -> None:
    sent = 0
    broker = producer.broker_required
    while sent < total:
        waiting = sum((await broker.queue_sizes()).values())
        if waiting > backlog:
            await asyncio.sleep(0.05)
            continue
        batch = min(1000, total - sent)
        await producer.submit_many([("noop", (sent + i,), {}, None) for i in range(batch)])
        sent += batch


def start_server(workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    server = subprocess.Popen(
        [
            *("redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""),
            *("--appendonly", "no", "--dir", str(workdir)),
        ],
        stdout=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.1)
    client.close()
    return server, port


def start_workers(url: str, ttl: int) -> list[subprocess.Popen[bytes]]:
    env = {**os.environ, "FLOWRRA_SOAK_REDIS_URL": url, "FLOWRRA_SOAK_TTL": str(ttl)}
    command = [sys.executable, "-m", "flowrra", "worker", "--app", "bench.soak:app"]
    command += ["--loglevel", "WARNING", "--cpu-workers", "1"]
    return [subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True) for _ in range(2)]


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGTERM)
    for process in processes:
        process.wait(30)


async def soak(args: argparse.Namespace, url: str, pids: list[int]) -> None:
    client = redis.Redis.from_url(url.partition("?")[0])
    producer = Flowrra(
        Config(broker=BrokerConfig(url=url), backend=BackendConfig(url=url, ttl=args.ttl))
    )
    producer.registry.register(app.registry.get("noop"))
    await producer.start(worker=False)
    baseline = redis_mb(client)
    print(f"soak: {args.tasks:,} tasks, 2 workers, results kept {args.ttl} s")
    print(f"redis baseline {baseline:.1f} MB")
    print(" elapsed      done    rate/s   worker1 MB  worker2 MB  producer MB  redis MB")
    started = time.monotonic()
    feeding = asyncio.create_task(produce(producer, args.tasks, args.backlog))
    last_done, last_at = 0, started
    try:
        while True:
            await asyncio.sleep(args.every)
            done = _done(client, args.tasks)
            now = time.monotonic()
            rate = (done - last_done) / (now - last_at)
            last_done, last_at = done, now
            print(
                f"{now - started:7.0f} s {done:9,} {rate:9,.0f} "
                f"{rss_mb(pids[0]):11.1f} {rss_mb(pids[1]):11.1f} "
                f"{rss_mb(os.getpid()):12.1f} {redis_mb(client):9.1f}",
                flush=True,
            )
            if feeding.done() and (feeding.exception() or done >= args.tasks):
                break
        await feeding
        elapsed = time.monotonic() - started
        print(f"all {args.tasks:,} done in {elapsed:.0f} s ({args.tasks / elapsed:,.0f}/s)")
        end = time.monotonic() + args.ttl + 15
        while time.monotonic() < end:
            await asyncio.sleep(min(args.every, max(0.0, end - time.monotonic())))
            print(
                f"after the run: redis {redis_mb(client):.1f} MB (baseline {baseline:.1f}), "
                f"workers {rss_mb(pids[0]):.1f} / {rss_mb(pids[1]):.1f} MB",
                flush=True,
            )
        await producer.backend_required.counts()  # prunes the indexes of expired results
        print(f"final: redis {redis_mb(client):.1f} MB, baseline {baseline:.1f} MB")
    finally:
        feeding.cancel()
        await producer.stop()
        client.close()


def _done(client: redis.Redis, total: int) -> int:
    """Tasks finished so far: the processed counters the workers publish in their
    heartbeats (results expire, so counting them would undercount)."""
    done = 0
    for key in client.scan_iter("soak:worker:*"):
        raw = client.get(key)
        if raw:
            done += int(json.loads(raw).get("processed", 0))
    return min(done, total)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=1_000_000)
    parser.add_argument("--ttl", type=int, default=30, help="seconds results are kept")
    parser.add_argument("--every", type=float, default=10.0, help="seconds between samples")
    parser.add_argument("--backlog", type=int, default=20_000, help="most messages waiting")
    args = parser.parse_args()
    if shutil.which("redis-server") is None:
        sys.exit("redis-server is not installed")
    workdir = Path(tempfile.mkdtemp(prefix="flowrra-soak-"))
    server, port = start_server(workdir)
    url = f"redis://127.0.0.1:{port}/0?key_prefix=soak"
    workers = start_workers(url, args.ttl)
    try:
        asyncio.run(soak(args, url, [worker.pid for worker in workers]))
    finally:
        stop(workers)
        stop([server])
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()

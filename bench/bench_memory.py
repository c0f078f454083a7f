"""In-memory end-to-end throughput: Flowrra beside the original Flowrra 0.1.8, same run.

Each run is a fresh process that starts an app (``async with app``), submits N no-op async
tasks one by one with ``await app.submit(...)``, then awaits every result. It prints the
submit rate, the end-to-end rate (N / first submit -> last result), CPU per task and peak
RSS, as medians over the repetitions, for N = 10,000, 50,000 and 200,000, and the ratio to
the original measured in the same run (its own virtualenv, made by ../shared/bench).

    python bench/bench_memory.py [--reps 3] [--sizes 10000,50000,200000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PEERS = ROOT.parent / "shared" / "bench"
ORIGINAL_PY = Path(os.environ.get("PEERS_VENV", "/tmp/peers-venv")) / "flowrra" / "bin" / "python"


async def _workload(n: int) -> dict[str, float]:
    from flowrra import Flowrra

    app = Flowrra.from_urls()

    @app.task()
    async def noop(x: int) -> int:
        return x

    async with app:
        cpu0 = time.process_time()
        t0 = time.perf_counter()
        ids = [await app.submit(noop, i) for i in range(n)]
        t1 = time.perf_counter()
        bad = 0
        for i, task_id in enumerate(ids):
            result = await app.wait_for_result(task_id, timeout=60)
            bad += not (result.is_success and result.result == i)
        t2 = time.perf_counter()
        cpu = time.process_time() - cpu0
    return {"n": n, "submit_s": t1 - t0, "total_s": t2 - t0, "cpu_s": cpu, "bad": bad}


def _run_child(argv: list[str], out: str) -> dict[str, float]:
    """Run one measurement process; add its peak RSS (MiB) from the kernel's accounting."""
    original = "bench_flowrra" in argv[1]
    # the original never sees a PYTHONPATH that points at this checkout
    env = {k: v for k, v in os.environ.items() if not (original and k == "PYTHONPATH")}
    proc = subprocess.Popen(argv, cwd=PEERS if original else ROOT, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{argv} exited with {os.waitstatus_to_exitcode(status)}")
    with open(out) as handle:
        record = json.loads(handle.read())
    record["rss_mib"] = usage.ru_maxrss / 1024
    return record


def _ensure_original() -> None:
    if not ORIGINAL_PY.exists():
        subprocess.run(["bash", str(PEERS / "setup_venvs.sh"), "flowrra"], check=True)


def _summary(runs: list[dict[str, float]]) -> dict[str, float]:
    n = runs[0]["n"]
    return {
        "submit": statistics.median(n / r["submit_s"] for r in runs),
        "e2e": statistics.median(n / r["total_s"] for r in runs),
        "cpu_us": statistics.median(1e6 * r["cpu_s"] / n for r in runs),
        "rss": statistics.median(r["rss_mib"] for r in runs),
        "bad": max(r["bad"] for r in runs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--sizes", default="10000,50000,200000")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        record = asyncio.run(_workload(args.child))
        Path(args.out).write_text(json.dumps(record))
        return

    _ensure_original()
    load_before = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    sizes = [int(s) for s in args.sizes.split(",")]
    ours: dict[int, list] = {n: [] for n in sizes}
    original: dict[int, list] = {n: [] for n in sizes}
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "run.json")
        for rep in range(args.reps):
            for n in sizes:  # interleaved, so both see the same machine noise
                ours[n].append(
                    _run_child([sys.executable, __file__, "--child", str(n), "--out", out], out)
                )
                original[n].append(
                    _run_child(
                        [str(ORIGINAL_PY), "bench_flowrra.py", "--inmem-child", str(n), out], out
                    )
                )
                print(
                    f"rep {rep + 1} n={n}: flowrra {n / ours[n][-1]['total_s']:,.0f}/s  "
                    f"original {n / original[n][-1]['total_s']:,.0f}/s",
                    file=sys.stderr,
                )
    print(f"In-memory no-op tasks, end to end; medians of {args.reps} runs; {os.cpu_count()} cores")
    header = ("N", "system", "submit/s", "e2e/s", "CPU us/task", "peak RSS MiB", "bad")
    print("{:>8} {:<16} {:>10} {:>10} {:>12} {:>13} {:>4}".format(*header))
    for n in sizes:
        mine, theirs = _summary(ours[n]), _summary(original[n])
        for name, row in (("flowrra (this)", mine), ("flowrra 0.1.8", theirs)):
            print(
                f"{n:>8} {name:<16} {row['submit']:>10,.0f} {row['e2e']:>10,.0f} "
                f"{row['cpu_us']:>12.1f} {row['rss']:>13.1f} {row['bad']:>4}"
            )
        submit_ratio, e2e_ratio = mine["submit"] / theirs["submit"], mine["e2e"] / theirs["e2e"]
        cpu_ratio = theirs["cpu_us"] / mine["cpu_us"]  # on a busy machine, steadier than rates
        print(f"{n:>8} {'ratio':<16} {submit_ratio:>9.2f}x {e2e_ratio:>9.2f}x {cpu_ratio:>11.2f}x")
    first, last = sizes[0], sizes[-1]
    for name, runs in (("flowrra (this)", ours), ("flowrra 0.1.8", original)):
        per_task = [1e6 / _summary(runs[n])["e2e"] for n in (first, last)]
        print(
            f"{name}: per task at {first:,} {per_task[0]:.1f} us, at {last:,} "
            f"{per_task[1]:.1f} us ({100 * (per_task[1] / per_task[0] - 1):+.0f}%)"
        )
    rss, their_rss = _summary(ours[last])["rss"], _summary(original[last])["rss"]
    print(f"peak RSS at {last:,}: {rss:.1f} vs {their_rss:.1f} MiB ({rss / their_rss:.2f}x)")
    load_after = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    print(f"load average at the start: {load_before}; at the end: {load_after}")


if __name__ == "__main__":
    main()

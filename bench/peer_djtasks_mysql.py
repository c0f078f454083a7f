"""django-tasks-db on MariaDB/MySQL, measured as ``../shared/bench/bench_djtasks.py``
measures it on SQLite and PostgreSQL (that script knows those two only): REPS times,
enqueue DJ_N no-op tasks with ``Task.enqueue`` (autocommit), drain them with one
``db_worker --batch --no-startup-delay`` process, rate = DJ_N / (max(finished_at) -
min(started_at)); then DJ_LAT_N round trips against an idle ``db_worker`` (default
``--interval 1``), the client polling ``refresh()`` every 5 ms.

Run by bench_django_broker.py with the peer's virtualenv (plus mysqlclient), cwd the peer
harness; it creates the database BENCH_PEER_MYSQL_DB and drops it at the end.
"""

import os
import resource
import subprocess
import sys
import time

os.environ["DJANGO_SETTINGS_MODULE"] = "peer_djtasks_mysql_settings"
from bench_django_broker import mysql_server
from common import (
    REPS,
    Worker,
    base_record,
    emit,
    latency_summary,
    log,
    now,
    pkg_versions,
    summarize,
)

DJ_N = int(os.environ.get("PEERS_DJ_N", "2000"))
DJ_LAT_N = int(os.environ.get("PEERS_DJ_LAT_N", "50"))
DJANGO = [sys.executable, "-m", "django"]
DATABASE = os.environ.setdefault("BENCH_PEER_MYSQL_DB", "peers_bench_mysql")


def main() -> None:
    mysql_server(f"DROP DATABASE IF EXISTS `{DATABASE}`")
    mysql_server(f"CREATE DATABASE `{DATABASE}` CHARACTER SET utf8mb4")
    try:
        measure()
    finally:
        mysql_server(f"DROP DATABASE IF EXISTS `{DATABASE}`")


def measure() -> None:
    env = dict(os.environ)
    subprocess.run([*DJANGO, "migrate", "-v", "0"], env=env, check=True)
    import django

    django.setup()
    import djbench_tasks
    from django.db import connection, connections
    from django.db.models import Max, Min
    from django_tasks_db.models import DBTaskResult

    assert connection.vendor == "mysql", connection.vendor
    server_name = "MariaDB" if connection.mysql_is_mariadb else "MySQL"
    label = f"{server_name} {'.'.join(map(str, connection.mysql_version[:2]))}"
    versions = pkg_versions("django", "django-tasks", "django-tasks-db", "mysqlclient")
    settings = (
        "python -m django db_worker --batch --no-startup-delay -v 0 (1 process, 1 task at a time)"
    )
    rec = base_record("django-tasks", "DatabaseBackend " + label, versions, settings)
    rec["n"] = DJ_N
    rec["notes"] = "Django default CONN_MAX_AGE=0: db_worker opens a new connection for every task"
    enq, drn, drn_incl, wcpu = [], [], [], []
    for rep in range(REPS):
        DBTaskResult.objects.all().delete()
        t = now()
        for i in range(DJ_N):
            djbench_tasks.noop.enqueue(i)
        el = now() - t
        enq.append(DJ_N / el)
        connections.close_all()
        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = now()
        subprocess.run(
            [*DJANGO, "db_worker", "--batch", "--no-startup-delay", "-v", "0"],
            env=env,
            check=True,
            timeout=600,
        )
        wall = now() - t
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        wcpu.append((ru1.ru_utime + ru1.ru_stime - ru0.ru_utime - ru0.ru_stime) / wall)
        agg = DBTaskResult.objects.aggregate(s=Min("started_at"), f=Max("finished_at"))
        ok = DBTaskResult.objects.successful().count()
        if ok != DJ_N:
            raise RuntimeError(f"only {ok}/{DJ_N} successful")
        span = (agg["f"] - agg["s"]).total_seconds()
        drn.append(DJ_N / span)
        drn_incl.append(DJ_N / wall)
        log(
            f"django-tasks [mysql] rep {rep + 1}: enqueue {DJ_N / el:,.0f}/s  drain "
            f"{DJ_N / span:,.0f}/s (incl. start-up {DJ_N / wall:,.0f}/s)"
        )
    rec["enqueue_per_s"] = summarize(enq)
    rec["drain_per_s"] = summarize(drn)
    rec["drain_incl_startup_per_s"] = summarize(drn_incl)
    rec["drain_stats"] = {"worker_busiest_proc_util": round(sorted(wcpu)[len(wcpu) // 2], 3)}
    if DJ_LAT_N:
        DBTaskResult.objects.all().delete()
        connections.close_all()
        worker = Worker(
            [*DJANGO, "db_worker", "--no-startup-delay", "-v", "0"],
            env,
            name="djtasks-mysql-lat",
            cwd=os.getcwd(),
        )
        try:
            samples = []
            for i in range(-3, DJ_LAT_N):
                t = now()
                res = djbench_tasks.noop.enqueue(i)
                deadline = t + 30
                while True:
                    res.refresh()
                    if res.is_finished:
                        break
                    if now() > deadline or not worker.alive():
                        raise TimeoutError("no result")
                    time.sleep(0.005)
                if i >= 0:
                    samples.append(now() - t)
                assert res.return_value == i, res.return_value
            rec["latency_ms"] = latency_summary(samples)
            rec["latency_note"] = (
                f"{DJ_LAT_N} round trips; db_worker default --interval 1 s "
                "when idle, client polls TaskResult.refresh() every 5 ms"
            )
            log(
                f"django-tasks [mysql] latency p50 {rec['latency_ms']['p50']:.1f} ms  "
                f"p99 {rec['latency_ms']['p99']:.1f} ms"
            )
        finally:
            worker.stop()
    DBTaskResult.objects.all().delete()
    connections.close_all()
    emit(rec)


if __name__ == "__main__":
    main()

"""A Redis Cluster of the test's own: ``redis-server --cluster-enabled yes`` on free loopback
ports (each with its bus port, +10000, free too) joined by ``redis-cli --cluster create``;
three masters, each with one replica when asked. Every server is stopped by its PID."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import time
from pathlib import Path

import redis
from redis.cluster import RedisCluster

from tests.waiting import wait_until


def _free_ports(count: int) -> list[int]:
    """``count`` loopback ports that are free together with their cluster bus port."""
    ports: list[int] = []
    port = random.randrange(20_000, 50_000)
    while len(ports) < count:
        port += 1
        try:
            with socket.socket() as a, socket.socket() as b:
                a.bind(("127.0.0.1", port))
                b.bind(("127.0.0.1", port + 10_000))
        except OSError:
            continue
        ports.append(port)
    return ports


class ClusterServers:
    """Three masters (and with ``replicas`` one replica each) on loopback."""

    def __init__(self, workdir: Path, *, replicas: bool = False, node_timeout_ms: int = 1000):
        self.workdir = workdir
        self.ports = _free_ports(6 if replicas else 3)
        self.replicas = replicas
        self.node_timeout_ms = node_timeout_ms
        self.procs: dict[int, subprocess.Popen[bytes]] = {}

    @property
    def url(self) -> str:
        """The ``redis+cluster://`` URL naming two of the nodes (the rest are discovered)."""
        return "redis+cluster://" + ",".join(f"127.0.0.1:{p}" for p in self.ports[:2])

    def start(self) -> None:
        for port in self.ports:
            home = self.workdir / str(port)
            home.mkdir(parents=True, exist_ok=True)
            options = {
                "port": str(port),
                "bind": "127.0.0.1",
                "cluster-enabled": "yes",
                "cluster-config-file": str(home / "nodes.conf"),
                "cluster-node-timeout": str(self.node_timeout_ms),
                "dir": str(home),
                "save": "",
                "appendonly": "no",
            }
            self.procs[port] = subprocess.Popen(
                ["redis-server", *[x for k, v in options.items() for x in (f"--{k}", v)]],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        for port in self.ports:
            client = redis.Redis(port=port)
            wait_until(lambda c=client: _answers(c), 10, f"redis-server on port {port}")
            client.close()
        subprocess.run(
            [
                *("redis-cli", "--cluster", "create"),
                *[f"127.0.0.1:{p}" for p in self.ports],
                *("--cluster-replicas", "1" if self.replicas else "0", "--cluster-yes"),
            ],
            check=True,
            capture_output=True,
            timeout=30,
        )
        wait_until(self.healthy, 20, "the cluster to cover every slot")

    def healthy(self) -> bool:
        """Every node says ``cluster_state:ok`` and every replica has synced."""
        for port in self.alive():
            try:
                client = redis.Redis(port=port)
                if client.cluster("info")["cluster_state"] != "ok":
                    return False
                info = client.info("replication")
                if info["role"] == "slave" and info.get("master_link_status") != "up":
                    return False
            except redis.RedisError:
                return False
            finally:
                client.close()
        return True

    def alive(self) -> list[int]:
        return [port for port, proc in self.procs.items() if proc.poll() is None]

    def client(self) -> RedisCluster:
        """A synchronous cluster client, for looking at the keys."""
        return RedisCluster(host="127.0.0.1", port=self.alive()[0])

    def master_of(self, key: str) -> int:
        """The port of the master serving ``key``'s slot."""
        client = self.client()
        try:
            return int(client.get_node_from_key(key).port)
        finally:
            client.close()

    def is_master(self, port: int) -> bool:
        client = redis.Redis(port=port)
        try:
            return bool(client.info("replication")["role"] == "master")
        finally:
            client.close()

    def replica_of(self, master_port: int) -> int:
        """The port of a replica of the master on ``master_port``."""
        client = redis.Redis(port=master_port)
        try:
            return int(client.info("replication")["slave0"]["port"])
        finally:
            client.close()

    def fail_over(self, replica_port: int) -> None:
        """``CLUSTER FAILOVER`` on a replica: it takes over its master's slots once it has
        every write the master acknowledged; returns when the cluster agrees."""
        replica = redis.Redis(port=replica_port)
        try:
            replica.execute_command("CLUSTER", "FAILOVER")
            wait_until(lambda: replica.info("replication")["role"] == "master", 20, "the failover")
        finally:
            replica.close()
        wait_until(lambda: self._agree_on_master(replica_port), 20, "every node to see it")
        wait_until(self.healthy, 20, "the cluster after the failover")

    def _agree_on_master(self, port: int) -> bool:
        for other in self.alive():
            client = redis.Redis(port=other, decode_responses=True)
            try:
                lines = client.execute_command("CLUSTER", "NODES").splitlines()
            finally:
                client.close()
            mine = next(line for line in lines if f":{port}@" in line)
            if "master" not in mine.split()[2]:
                return False
        return True

    def __enter__(self) -> ClusterServers:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def kill(self, port: int) -> None:
        """``kill -9`` the server on ``port``; returns once its replica took over."""
        os.kill(self.procs[port].pid, signal.SIGKILL)
        self.procs[port].wait()
        wait_until(self.healthy, 30, "a replica to take over")

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()


def _answers(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False

"""Test hosts of a test's own, all on this machine: network namespaces, each joined to this
one by a veth pair, and a TCP relay for servers that listen on 127.0.0.1 only. Needs root and
the ``ip`` command; :func:`hosts` skips (fails under CI=true) without them."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator, Sequence

from tests.services import unavailable


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=20)


class Namespace:
    """A network namespace with a veth pair: address ``host`` here, ``peer`` inside it, on
    the /30 network ``{network}.{subnet}.0``; ``prefix`` starts its name."""

    def __init__(self, prefix: str = "fl", network: str = "10.212", subnet: int = 0) -> None:
        tag = f"{os.getpid() % 10000:04d}{random.randrange(100):02d}"
        self.name, self.host_if, self.peer_if = (
            f"{prefix}{tag}",
            f"{prefix}h{tag}",
            f"{prefix}n{tag}",
        )
        subnet = subnet or random.randrange(1, 250)
        self.host, self.peer = f"{network}.{subnet}.1", f"{network}.{subnet}.2"

    def create(self) -> None:
        ip("netns", "add", self.name)
        ip("link", "add", self.host_if, "type", "veth", "peer", "name", self.peer_if)
        ip("link", "set", self.peer_if, "netns", self.name)
        ip("addr", "add", f"{self.host}/30", "dev", self.host_if)
        ip("link", "set", self.host_if, "up")
        inside = ("netns", "exec", self.name, "ip")
        ip(*inside, "addr", "add", f"{self.peer}/30", "dev", self.peer_if)
        ip(*inside, "link", "set", self.peer_if, "up")
        ip(*inside, "link", "set", "lo", "up")

    def command(self, argv: Sequence[str], hostname: str | None = None) -> list[str]:
        """``argv`` run inside the namespace; with ``hostname``, under that host name (a
        UTS namespace of its own, so this machine's name stays)."""
        inside = ["ip", "netns", "exec", self.name]
        if hostname is None:
            return [*inside, *argv]
        rename = 'hostname "$1" && shift && exec "$@"'
        return [*inside, "unshare", "--uts", "sh", "-c", rename, "sh", hostname, *argv]

    def cut(self) -> None:
        ip("link", "set", self.host_if, "down")

    def heal(self) -> None:
        ip("link", "set", self.host_if, "up")

    def delete(self) -> None:
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True, timeout=20)
        subprocess.run(["ip", "link", "del", self.host_if], capture_output=True, timeout=20)


@contextlib.contextmanager
def hosts(count: int, prefix: str, network: str = "10.212") -> Iterator[list[Namespace]]:
    """``count`` namespaces on distinct subnets, deleted on exit."""
    if shutil.which("ip") is None:
        unavailable("test hosts need the ip command (iproute2)")
    made = [Namespace(prefix, network, s) for s in random.sample(range(1, 250), count)]
    try:
        for namespace in made:
            try:
                namespace.create()
            except (subprocess.CalledProcessError, PermissionError) as exc:
                unavailable(f"ip netns is not usable here (root is needed): {exc}")
        yield made
    finally:
        for namespace in made:
            namespace.delete()


class Relay:
    """Accepts TCP connections on ``addresses`` (one port, :attr:`port`) and relays each to
    ``target``, in a thread of its own: a way into a server bound to 127.0.0.1 only."""

    def __init__(self, addresses: Sequence[str], target: tuple[str, int]) -> None:
        self.addresses, self.target = list(addresses), target
        with socket.socket() as probe:
            probe.bind((self.addresses[0], 0))
            self.port = int(probe.getsockname()[1])
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._servers: list[asyncio.Server] = []
        self._pipes: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(10)

    async def _listen(self) -> None:
        for address in self.addresses:
            self._servers.append(await asyncio.start_server(self._relay, address, self.port))

    async def _relay(
        self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter
    ) -> None:
        try:
            server_in, server_out = await asyncio.open_connection(*self.target)
        except OSError:
            client_out.close()
            return
        for source, sink in ((client_in, server_out), (server_in, client_out)):
            pipe = asyncio.create_task(_pipe(source, sink))
            self._pipes.add(pipe)
            pipe.add_done_callback(self._pipes.discard)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    async def _close(self) -> None:
        for server in self._servers:
            server.close()
        for pipe in list(self._pipes):
            pipe.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    try:
        while data := await source.read(65536):
            sink.write(data)
            await sink.drain()
    except OSError:
        pass
    finally:
        sink.close()

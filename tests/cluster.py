"""A real three-node Redis Cluster of the project's own store binary, for tests that prove the key layout."""

from __future__ import annotations

import random
import socket
import subprocess
import time
from pathlib import Path

import redis

from kernel.store.client import find_server_binary

SLOTS = 16384


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_port() -> int:
    """A free port whose cluster-bus twin (port + 10000, so port <= 55535) is free too."""
    while True:
        port = random.randrange(20_000, 45_000)
        if _bindable(port) and _bindable(port + 10_000):
            return port


class LocalCluster:
    def __init__(self, base: Path, nodes: int = 3) -> None:
        self.base = base
        self.ports = [_free_port() for _ in range(nodes)]
        self.procs: list[subprocess.Popen] = []

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.ports[0]}/0"

    def start(self) -> LocalCluster:
        binary = find_server_binary()
        for port in self.ports:
            d = self.base / str(port)
            d.mkdir(parents=True)
            self.procs.append(subprocess.Popen(
                [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(d), "--cluster-enabled", "yes",
                 "--cluster-config-file", "nodes.conf", "--appendonly", "yes", "--appendfsync", "always",
                 "--save", "", "--logfile", str(d / "log")],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        clients = [redis.Redis(port=p) for p in self.ports]
        for c in clients:
            self._wait(lambda c=c: c.ping())
        share = SLOTS // len(self.ports)
        for i, c in enumerate(clients):
            last = SLOTS - 1 if i == len(clients) - 1 else (i + 1) * share - 1
            c.execute_command("CLUSTER", "ADDSLOTSRANGE", i * share, last)
        for c in clients[1:]:
            c.execute_command("CLUSTER", "MEET", "127.0.0.1", self.ports[0])
        for c in clients:
            self._wait(lambda c=c: b"cluster_state:ok" in c.execute_command("CLUSTER", "INFO"))
            self._wait(lambda c=c: len(c.execute_command("CLUSTER", "NODES").splitlines()) == len(self.ports))
        for c in clients:
            c.close()
        return self

    @staticmethod
    def _wait(ok, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if ok():
                    return
            except redis.RedisError:
                pass
            time.sleep(0.05)
        raise RuntimeError("cluster did not come up")

    def stop(self) -> None:
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            p.wait(10)

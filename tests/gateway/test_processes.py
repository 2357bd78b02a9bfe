"""The gateway as an operator runs it: real processes, the CLI, several workers, kill -9 and restart."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import aiohttp
import pytest

from gateway.metrics import PUBLISH_INTERVAL_S
from kernel.postal.s10 import is_valid
from money.sheba import EXAMPLE_SHEBA
from tests.conftest import shipment_body

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_cli(env: dict, *args: str) -> dict | list:
    out = subprocess.run([sys.executable, "-m", "gateway", *args], env=env, cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def shop_headers(env: dict, name: str) -> dict:
    """A shop created through the operator CLI, with a full default sender; its bearer header."""
    shop = run_cli(env, "shops", "create", "--name", name, "--sender-postal-code", "1458973311",
                   "--sender-province", "تهران", "--sender-city", "تهران", "--sender-name", "x",
                   "--sender-phone", "09121234567", "--sender-address", "y", "--sheba", EXAMPLE_SHEBA,
                   "--sheba-verified")
    return {"Authorization": f"Bearer {shop['api_key']}"}


class Gateway:
    def __init__(self, data_dir: Path, workers: int = 2) -> None:
        self.port = free_port()
        self.env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
        self.env.update(BARID_DATA=str(data_dir), BARID_PORT=str(self.port), BARID_WORKERS=str(workers),
                        BARID_ACCESS_LOG="0")
        self.data_dir = data_dir
        self.proc: subprocess.Popen | None = None
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "gateway", "serve"], env=self.env, cwd=ROOT,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                import urllib.request

                with urllib.request.urlopen(self.url + "/readyz", timeout=1) as r:
                    if r.status == 200:
                        time.sleep(0.5)  # let every worker bind
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("gateway did not start")

    def store_pid(self) -> int:
        return json.loads((self.data_dir / "store.json").read_text())["pid"]

    def kill9_all(self) -> None:
        store = self.store_pid()
        os.killpg(self.proc.pid, signal.SIGKILL)
        os.kill(store, signal.SIGKILL)
        self.proc.wait()
        while True:
            try:
                os.kill(store, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(30)


@pytest.fixture
def gateway(tmp_path):
    gw = Gateway(tmp_path / "var")
    yield gw
    gw.stop()


def test_cli_manages_shops_with_or_without_a_running_gateway(gateway):
    env = gateway.env
    created = run_cli(env, "shops", "create", "--name", "Aftab", "--enamad-id", "778899",
                      "--sender-postal-code", "1458973311", "--sender-province", "تهران", "--sender-city", "تهران")
    assert created["api_key"].startswith(f"bk_{created['shop_id']}_")
    assert not (gateway.data_dir / "store.json").exists()  # the CLI's own store stopped with it
    gateway.start()
    listed = run_cli(env, "shops", "list")
    assert [s["name"] for s in listed] == ["Aftab"] and "api_key" not in listed[0]
    auth = {"Authorization": f"Bearer {created['api_key']}"}

    async def status(headers) -> int:
        async with aiohttp.ClientSession() as s:
            async with s.get(gateway.url + "/v1/shipments", headers=headers) as r:
                return r.status

    assert asyncio.run(status(auth)) == 200
    rotated = run_cli(env, "shops", "rotate-key", "--shop", str(created["shop_id"]))
    assert asyncio.run(status(auth)) == 200  # the old key works for the rotation's overlap...
    new_auth = {"Authorization": f"Bearer {rotated['api_key']}"}
    assert asyncio.run(status(new_auth)) == 200
    run_cli(env, "shops", "end-rotation", "--shop", str(created["shop_id"]))
    assert asyncio.run(status(auth)) == 401  # ...until the operator ends it
    assert asyncio.run(status(new_auth)) == 200
    run_cli(env, "shops", "disable", "--shop", str(created["shop_id"]))
    assert asyncio.run(status(new_auth)) == 401


async def _book_many(url: str, headers: dict, n: int, *, kill_after_acks: int | None = None, kill=None):
    """Fire n concurrent bookings; return the tracking numbers the gateway acknowledged with 201.

    With kill_after_acks, ``kill()`` runs as soon as that many were acknowledged, mid-stream."""
    acked: list[str] = []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100)) as session:
        async def one(i: int) -> None:
            body = shipment_body(client_order_id=f"P-{i}")
            try:
                async with session.post(url + "/v1/shipments", json=body, headers=headers) as r:
                    if r.status == 201:
                        acked.append((await r.json())["tracking_number"])
            except (aiohttp.ClientError, asyncio.TimeoutError):
                pass  # cut off by the kill: not acknowledged, so nothing is owed

        tasks = [asyncio.create_task(one(i)) for i in range(n)]
        if kill_after_acks is not None:
            while len(acked) < kill_after_acks:
                await asyncio.sleep(0.005)
            kill()
        await asyncio.gather(*tasks)
    return acked


def test_thousand_concurrent_bookings_over_two_workers_get_distinct_numbers(gateway):
    gateway.start()
    headers = shop_headers(gateway.env, "Burst")
    acked = asyncio.run(_book_many(gateway.url, headers, 1000))
    assert len(acked) == 1000
    assert len(set(acked)) == 1000
    assert all(is_valid(tn) for tn in acked)
    # A scrape lands on either worker; each must report both workers' counts.
    time.sleep(PUBLISH_INTERVAL_S + 0.5)

    async def scrapes(n: int) -> list[str]:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as s:
            return [await (await s.get(gateway.url + "/metrics")).text() for _ in range(n)]

    for text in asyncio.run(scrapes(8)):
        assert "barid_gateway_workers 2\n" in text
        assert 'barid_bookings_total{service="pishtaz",payment="cod"} 1000\n' in text


def test_acknowledged_bookings_survive_kill_9_of_gateway_and_store(gateway):
    gateway.start()
    headers = shop_headers(gateway.env, "Durable")
    before = asyncio.run(_book_many(gateway.url, headers, 100))
    during = asyncio.run(_book_many(gateway.url, headers, 1000, kill_after_acks=50, kill=gateway.kill9_all))
    assert len(before) == 100 and 50 <= len(during) < 1000  # the kill really cut the run short
    gateway.start()  # adopts nothing (the store is dead): starts it again from its append-only file

    async def check() -> tuple[list[str], int]:
        missing = []
        async with aiohttp.ClientSession() as s:
            for tn in before + during:
                async with s.get(f"{gateway.url}/v1/shipments/{tn}", headers=headers) as r:
                    if r.status != 200:
                        missing.append(tn)
            async with s.post(gateway.url + "/v1/shipments", json=shipment_body(), headers=headers) as r:
                new_tn = (await r.json())["tracking_number"]
        return missing, new_tn

    missing, new_tn = asyncio.run(check())
    assert missing == []
    assert new_tn not in set(before + during)  # serials are never reused after a crash


def test_up_starts_the_whole_system_with_demo_data(tmp_path):
    gw = Gateway(tmp_path / "var", workers=1)
    gw.proc = subprocess.Popen([sys.executable, "-m", "gateway", "up"], env=gw.env, cwd=ROOT, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        banner = [gw.proc.stdout.readline() for _ in range(5)]
        assert banner[0].startswith(f"Barid is up at {gw.url}")
        demo = json.loads((gw.data_dir / "demo.json").read_text())
        deadline = time.monotonic() + 30

        async def check() -> None:
            async with aiohttp.ClientSession() as s:
                while True:  # workers may still be binding
                    try:
                        async with s.get(f"{gw.url}/healthz") as r:
                            if r.status == 200:
                                break
                    except aiohttp.ClientError:
                        pass
                    assert time.monotonic() < deadline
                    await asyncio.sleep(0.1)
                auth = {"Authorization": f"Bearer {demo['api_key']}"}
                async with s.get(f"{gw.url}/v1/shipments?limit=100", headers=auth) as r:
                    listed = {x["tracking_number"] for x in (await r.json())["items"]}
                assert listed == set(demo["tracking_numbers"])
                async with s.get(f"{gw.url}/track/{demo['tracking_numbers'][0]}") as r:
                    assert r.status == 200 and "text/html" in r.headers["Content-Type"]

        asyncio.run(check())
        children = subprocess.run(["pgrep", "-P", str(gw.proc.pid)], capture_output=True, text=True).stdout.split()
        names = [Path(f"/proc/{pid}/comm").read_bytes().strip() for pid in children]
        # the store, one gateway worker, one webhook dispatcher, one router, one ledger worker, the daily
        # remittance run and, with no SMS provider configured, the local one (forked from the supervisor; the
        # ledger's PostgreSQL runs detached, as pg_ctl starts it)
        assert len(children) == 7 and sum(n.endswith(b"-server") for n in names) == 1
        sms_line = [gw.proc.stdout.readline() for _ in range(2)][-1]
        assert "local fake provider" in sms_line
        sent = re.search(r"http://127\.0\.0\.1:[0-9]+/_sent", sms_line).group(0)
        assert json.loads(urllib.request.urlopen(sent, timeout=10).read()) == []
        ledger = run_cli(gw.env, "ledger", "balance", "--account", "revenue:shipping")
        deadline = time.monotonic() + 30
        while ledger["balance"] == 0 and time.monotonic() < deadline:  # the demo bookings' fees, posted
            time.sleep(0.5)
            ledger = run_cli(gw.env, "ledger", "balance", "--account", "revenue:shipping")
        assert ledger["balance"] < 0
    finally:
        gw.stop()
    assert not (gw.data_dir / "store.json").exists()  # the store was shut down cleanly with it
    assert not (gw.data_dir / "pg" / "data" / "postmaster.pid").exists()  # and PostgreSQL


def test_a_restart_upgrades_a_store_written_by_the_earlier_layout(gateway):
    """A gateway started on data whose parcel histories are layout-1 zsets moves them before serving."""
    import redis

    from kernel.store import keys
    from tests.gateway.test_upgrade import legacy_history

    gateway.start()
    headers = shop_headers(gateway.env, "Upgraded")
    tns = asyncio.run(_book_many(gateway.url, headers, 20))
    store = redis.Redis.from_url(json.loads((gateway.data_dir / "store.json").read_text())["url"])
    shop_id = int(store.get(keys.tracking_index(tns[0])))
    for tn in tns:
        legacy_history(store, shop_id, tn)
    store.delete(keys.LAYOUT)
    gateway.stop()
    gateway.start()

    async def histories() -> list[list[str]]:
        async with aiohttp.ClientSession() as s:
            out = []
            for tn in tns:
                async with s.get(f"{gateway.url}/v1/shipments/{tn}", headers=headers) as r:
                    out.append([e["type"] for e in (await r.json())["history"]])
            return out

    assert asyncio.run(histories()) == [["booked"]] * len(tns)

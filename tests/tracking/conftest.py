"""Tracking fixtures: the real gateway app with tracking routes, staff, booked parcels, storefront receivers.

Receivers are real aiohttp servers on 127.0.0.1; every delivery they get is verified with the
``standardwebhooks`` package (not Barid's code) before it is recorded.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import orjson
import pytest
from aiohttp import web
from standardwebhooks import Webhook

from gateway.web_app import create_app
from kernel.postal.offices import load_registry
from kernel.settings import Config, TrackingConfig, TrackLimits
from tests.conftest import shipment_body
from tracking import web as tracking_web
from tracking.dispatcher import Dispatcher
from tracking.staff import create_staff

ORIGIN = "THR-01"  # a Tehran delivery office (accepts the parcel)
HUB = "THR-HUB"
DEST_HUB = "IFN-HUB"
DEST = "IFN-01"  # an Isfahan delivery office


@pytest.fixture
def tcfg() -> TrackingConfig:
    """Compressed timings: retries after 50/100/200 ms, leases of 2 s. Every test client is 127.0.0.1, and the
    public tracking limit of that address is shared by the whole session: a generous one, so tests never meet it
    (tests of the limit use other loopback addresses)."""
    return TrackingConfig(retry_schedule=(0.05, 0.1, 0.2), retry_jitter=0.1, delivery_timeout_s=1.0,
                          claim_idle_s=2.0, poll_interval_s=0.05, webhook_allow_hosts=frozenset({"127.0.0.1"}),
                          track_limits=TrackLimits(rate_per_s=1000.0, burst=1000))


@pytest.fixture
async def client(aiohttp_client, store_url: str, tmp_path, tcfg: TrackingConfig):
    app = create_app(Config(data_dir=tmp_path, access_log=False), store_url)
    if tracking_web.TRACKING_CONFIG in app:  # the gateway wired tracking already: use the test settings
        app[tracking_web.TRACKING_CONFIG] = tcfg
    else:
        tracking_web.setup(app, tcfg)
    return await aiohttp_client(app)


_clock = itertools.count()


def at(seconds: float) -> str:
    """A device timestamp `seconds` from now (ISO 8601 with the Tehran offset, as phones send it)."""
    when = datetime.now(timezone.utc) + timedelta(seconds=seconds)
    return when.astimezone(timezone(timedelta(hours=3, minutes=30))).isoformat(timespec="milliseconds")


def scan(tn: str, event: str, office: str, seconds: float, **extra: Any) -> dict[str, Any]:
    """One scan `seconds` from now (the server takes up to 5 minutes of device clock skew)."""
    return {"tracking_number": tn, "event": event, "office": office, "occurred_at": at(seconds),
            "scan_id": f"s{next(_clock)}-{event}", **extra}


@dataclass
class StaffSet:
    headers: dict[str, dict[str, str]]  # office code -> Authorization header

    def __getitem__(self, office: str) -> dict[str, str]:
        return self.headers[office]


@pytest.fixture
async def staff(redis) -> StaffSet:
    registry = load_registry()
    out = {}
    for office in (ORIGIN, HUB, DEST_HUB, DEST):
        made = await create_staff(redis, registry, office, f"کارمند {office}")
        out[office] = {"Authorization": f"Bearer {made['token']}"}
    return StaffSet(out)


@pytest.fixture
def book(client):
    async def book(shop, **overrides) -> str:
        resp = await client.post("/v1/shipments", json=shipment_body(**overrides), headers=shop.headers)
        assert resp.status == 201, await resp.text()
        return (await resp.json())["tracking_number"]

    return book


LIFE = ("accepted", "sorting_in", "sorting_out", "sorting_in", "sorting_out", "arrived_delivery_office",
        "out_for_delivery", "delivered")
LIFE_OFFICES = (ORIGIN, HUB, HUB, DEST_HUB, DEST_HUB, DEST, DEST, DEST)


def life(tn: str, start: float = 0.0) -> list[dict[str, Any]]:
    """Every scan from acceptance to delivery and COD collection (12,000,000 rials, by card)."""
    scans = [scan(tn, ev, office, start + i) for i, (ev, office) in enumerate(zip(LIFE, LIFE_OFFICES))]
    scans[-1]["receiver_name"] = "علی رضایی"
    scans.append(scan(tn, "cod_collected", DEST, start + len(LIFE), amount=12_000_000, method="card",
                      rrn="123456789012"))
    return scans


@pytest.fixture
def post_scans(client, staff):
    """Send scans grouped by office (each office's staff sends its own) and return the per-scan results."""
    async def post(scans: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for s in scans:
            resp = await client.post("/v1/scans", json=s, headers=staff[s["office"]])
            out.append({"http": resp.status, **(await resp.json())})
        return out

    return post


@dataclass
class Receiver:
    """A storefront: verifies every delivery with standardwebhooks and records it."""

    secret: str = ""
    events: list[dict[str, Any]] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    bad_signatures: int = 0
    # Status for the next requests (popped one by one; 200 when empty) and optional extra headers.
    script: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    hold: asyncio.Event | None = None  # when set: requests wait for it (a slow storefront)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    requests: int = 0
    url: str = ""
    on_event: Callable[[dict[str, Any]], None] | None = None

    async def handle(self, request: web.Request) -> web.Response:
        self.requests += 1
        self.arrived.set()
        body = await request.read()
        if self.hold is not None:
            await self.hold.wait()
        if self.script:
            status, headers = self.script.pop(0)
            return web.Response(status=status, headers=headers)
        try:
            payload = Webhook(self.secret).verify(body, dict(request.headers))
        except Exception:
            self.bad_signatures += 1
            return web.Response(status=400)
        self.ids.append(request.headers["webhook-id"])
        self.events.append(payload)
        if self.on_event:
            self.on_event(payload)
        return web.Response(status=204)

    def unique(self) -> list[dict[str, Any]]:
        seen, out = set(), []
        for e in self.events:
            if e["id"] not in seen:
                seen.add(e["id"])
                out.append(e)
        return out

    def of(self, tn: str) -> list[dict[str, Any]]:
        return [e for e in self.unique() if e["tracking_number"] == tn]


class Storefront:
    """A real aiohttp server on a fixed loopback port that can go down and come back."""

    def __init__(self, receiver: Receiver) -> None:
        self.receiver = receiver
        self.port = 0
        self.runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self.receiver.handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", self.port, reuse_address=True)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.receiver.url = f"http://127.0.0.1:{self.port}/hook"

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None


@pytest.fixture
async def storefronts() -> AsyncIterator[list[Storefront]]:
    made: list[Storefront] = []
    yield made
    for s in made:
        if s.receiver.hold is not None:
            s.receiver.hold.set()
        await s.stop()


@pytest.fixture
def receiver_factory(storefronts):
    async def make() -> Receiver:
        front = Storefront(Receiver())
        await front.start()
        storefronts.append(front)
        return front.receiver

    return make


@pytest.fixture
async def subscribe(client):
    created = []

    async def subscribe(shop, receiver: Receiver, events: list[str] | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"url": receiver.url}
        if events:
            body["events"] = events
        resp = await client.post("/v1/webhooks", json=body, headers=shop.headers)
        assert resp.status == 201, await resp.text()
        ep = await resp.json()
        receiver.secret = ep["secret"]
        created.append((shop, ep["id"]))
        return ep

    yield subscribe
    # Endpoints die with the test, so later tests' dispatchers do not keep retrying its receivers.
    for shop, ep_id in created:
        await client.delete(f"/v1/webhooks/{ep_id}", headers=shop.headers)


@pytest.fixture
def dispatch(store_url: str, tcfg: TrackingConfig):
    async def dispatch(timeout: float = 30.0, config: TrackingConfig | None = None) -> Dispatcher:
        d = Dispatcher(store_url, config or tcfg)
        await asyncio.wait_for(d.run(burst=True), timeout)
        return d

    return dispatch


def loads(body: bytes) -> Any:
    return orjson.loads(body)

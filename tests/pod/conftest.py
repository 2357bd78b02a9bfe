"""Proof-of-delivery fixtures: the real gateway app, parcels booked over HTTP and brought to their delivering office
by real staff scans, and supervisors made as the CLI makes them."""

from __future__ import annotations

import base64
import itertools
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from gateway.web_app import create_app
from kernel.postal.offices import load_registry
from kernel.settings import Config
from returns import web as returns_web
from tests.conftest import shipment_body
from tests.routing.office_flow import Staff, to_office
from tests.tracking.conftest import tcfg  # noqa: F401  (fixture)
from tracking import web as tracking_web
from tracking.staff import create_staff

OFFICE = "IFN-01"  # the delivering office of shipment_body's Isfahan receiver
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(64)
JPEG = b"\xff\xd8\xff\xe0" + bytes(64)
_ids = itertools.count()
_last = [0.0]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def device_time() -> str:
    """Now, but always after the previous scan: each scan of a test is the newest, as on a real device."""
    t = _last[0] = max(time.time(), _last[0] + 0.01)
    return datetime.fromtimestamp(t, timezone(timedelta(hours=3, minutes=30))).isoformat(timespec="milliseconds")


def scan_body(tn: str, event: str, office: str, **extra: Any) -> dict[str, Any]:
    return {"tracking_number": tn, "event": event, "office": office, "scan_id": f"pod-{next(_ids)}",
            "occurred_at": device_time(), **extra}


@pytest.fixture
async def client(aiohttp_client, store_url: str, tmp_path, tcfg):  # noqa: F811
    app = create_app(Config(data_dir=tmp_path, access_log=False), store_url)
    app[tracking_web.TRACKING_CONFIG] = tcfg
    app[returns_web.NDR_SETTINGS] = returns_web.NdrSettings(interval_s=0)
    return await aiohttp_client(app)


@pytest.fixture
def staff(redis) -> Staff:
    return Staff(redis)


@pytest.fixture
def supervisor(redis):
    """Authorization headers of a supervisor of ``office`` (made on first use)."""
    made: dict[str, dict[str, str]] = {}

    async def of(office: str) -> dict[str, str]:
        if office not in made:
            s = await create_staff(redis, load_registry(), office, f"سرپرست {office}", role="supervisor")
            made[office] = {"Authorization": f"Bearer {s['token']}"}
        return made[office]

    return of


@pytest.fixture
def book(client, shop):
    async def book(owner=None, **overrides) -> dict[str, Any]:
        body = shipment_body(client_order_id=f"POD-{time.time_ns()}", **overrides)
        resp = await client.post("/v1/shipments", json=body, headers=(owner or shop).headers)
        assert resp.status == 201, await resp.text()
        return await resp.json()

    return book


@pytest.fixture
def scan(client, staff):
    async def scan(tn: str, event: str, office: str = OFFICE, headers=None, **extra: Any):
        return await client.post("/v1/scans", json=scan_body(tn, event, office, **extra),
                                 headers=headers or await staff(office))

    return scan


@pytest.fixture
def out_for_delivery(scan):
    """Brings a booked parcel to its delivering office and hands it to a postman."""
    async def go(doc: dict[str, Any]) -> str:
        tn = doc["tracking_number"]
        for event, office in to_office(doc) + [("out_for_delivery", doc["route"][-1])]:
            resp = await scan(tn, event, office)
            assert resp.status == 201, await resp.text()
        return tn

    return go

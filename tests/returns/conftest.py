"""Failed-delivery fixtures: the real gateway app (its case worker off, so each test runs it when it wants),
parcels moved through the network by real staff scans, and tracking's storefront receivers."""

from __future__ import annotations

import itertools
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from gateway.web_app import create_app
from kernel.settings import Config
from returns import web as returns_web
from returns.cases import CaseService
from tests.routing.office_flow import Staff, book, isfahan, to_office
from tests.tracking.conftest import (  # noqa: F401  (fixtures)
    dispatch,
    receiver_factory,
    storefronts,
    subscribe,
    tcfg,
)
from tracking import web as tracking_web

OFFICE = "IFN-01"
_ids = itertools.count()
_last = [0.0]


def _device_time() -> str:
    """Now, but always after the previous scan: each scan of a test is the newest, as on a real device."""
    t = _last[0] = max(time.time(), _last[0] + 0.01)
    return datetime.fromtimestamp(t, timezone(timedelta(hours=3, minutes=30))).isoformat(timespec="milliseconds")


async def move(client, staff: Staff, tn: str, steps: list[tuple[str, str]], reason: str = "receiver_absent",
               **extra: Any) -> None:
    """Scan ``tn`` through ``steps`` ((event, office), ...), in order, each by its office's staff."""
    for event, office in steps:
        body = {"tracking_number": tn, "event": event, "office": office, "scan_id": f"ndr-{next(_ids)}",
                "occurred_at": _device_time()}
        if event == "delivery_failed":
            body["reason"] = reason
        if event == "delivered":
            body["receiver_name"] = extra.get("receiver_name", "مریم احمدی")
        resp = await client.post("/v1/scans", json=body, headers=await staff(office))
        assert resp.status in (200, 201), await resp.text()


@pytest.fixture
def ndr_settings() -> returns_web.NdrSettings:
    return returns_web.NdrSettings(interval_s=0)


@pytest.fixture
async def client(aiohttp_client, store_url: str, tmp_path, tcfg, ndr_settings):  # noqa: F811
    app = create_app(Config(data_dir=tmp_path, access_log=False), store_url)
    app[tracking_web.TRACKING_CONFIG] = tcfg
    app[returns_web.NDR_SETTINGS] = ndr_settings
    return await aiohttp_client(app)


@pytest.fixture
def cases(client) -> CaseService:
    return client.app[returns_web.CASES]


@pytest.fixture
def staff(redis) -> Staff:
    return Staff(redis)


@pytest.fixture
def parcel_at_office(client, shop, staff):
    """Book parcels to Isfahan and bring them to its delivery office."""
    async def make(n: int = 1, owner=None) -> list[str]:
        docs = await book(client, owner or shop, [isfahan(i) for i in range(n)])
        for d in docs:
            await move(client, staff, d["tracking_number"], to_office(d))
        return [d["tracking_number"] for d in docs]

    return make


@pytest.fixture
def fail(client, staff, cases):
    """One delivery round that fails with ``reason``; the case worker then takes the outbox in."""
    async def fail(tn: str, reason: str = "receiver_absent", consume: bool = True) -> None:
        await move(client, staff, tn, [("out_for_delivery", OFFICE), ("delivery_failed", OFFICE)], reason=reason)
        if consume:
            await cases.consume()

    return fail


@pytest.fixture
def act(client, shop):
    async def act(tn: str, body: dict[str, Any], owner=None, headers: dict[str, str] | None = None):
        resp = await client.post(f"/v1/ndr/{tn}/actions", json=body,
                                 headers={**(owner or shop).headers, **(headers or {})})
        return resp.status, await resp.json()

    return act

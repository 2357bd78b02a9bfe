"""Helpers for planning tests: book parcels over HTTP and move them through the network with staff scans."""

from __future__ import annotations

import itertools
import time
from datetime import UTC, datetime, timedelta, timezone

from kernel.postal.offices import load_registry
from routing.jobs import PlanWorker
from tests.conftest import shipment_body
from tracking.staff import create_staff

TEHRAN = timezone(timedelta(hours=3, minutes=30))
FUTURE = "2030-01-01"
_ids = itertools.count()


class Staff:
    """Staff tokens per office, made on first use."""

    def __init__(self, redis) -> None:
        self.redis = redis
        self.headers: dict[str, dict[str, str]] = {}

    async def __call__(self, office: str) -> dict[str, str]:
        if office not in self.headers:
            made = await create_staff(self.redis, load_registry(), office, f"کارمند {office}")
            self.headers[office] = {"Authorization": f"Bearer {made['token']}"}
        return self.headers[office]


async def book(client, shop, bodies: list[dict]) -> list[dict]:
    resp = await client.post("/v1/shipments/batch", headers=shop.headers, json={"shipments": bodies})
    assert resp.status in (200, 201, 207), await resp.text()
    return [r["shipment"] for r in (await resp.json())["results"]]


async def move(client, staff: Staff, tn: str, steps: list[tuple[str, str]], **extra) -> None:
    """Scan ``tn`` through ``steps`` ((event, office), ...), a second apart, each by its office's staff."""
    base = datetime.now(UTC)
    for i, (event, office) in enumerate(steps):
        body = {"tracking_number": tn, "event": event, "office": office, "scan_id": f"plan-{next(_ids)}",
                "occurred_at": (base + timedelta(seconds=i)).astimezone(TEHRAN).isoformat(timespec="milliseconds")}
        if event == "delivery_failed":
            body["reason"] = extra.get("reason", "receiver_absent")
        resp = await client.post("/v1/scans", json=body, headers=await staff(office))
        assert resp.status in (200, 201), await resp.text()


def to_office(doc: dict) -> list[tuple[str, str]]:
    """The scans that bring a booked parcel along its route to its delivering office."""
    route = doc["route"]
    steps = [("accepted", route[0])]
    for hub in route[1:-1]:
        steps += [("sorting_in", hub), ("sorting_out", hub)]
    return steps + [("arrived_delivery_office", route[-1])]


def isfahan(i: int, **overrides) -> dict:
    """A COD booking from Tehran to the Isfahan office (IFN-01), with an order id no other test uses."""
    return shipment_body(client_order_id=f"PLAN-{time.time_ns()}-{i}", **overrides)


async def plan_for(client, staff: Staff, redis, office: str, day: str = FUTURE) -> dict:
    """Queue a plan as the office's staff, let a router worker solve it, and return the done record."""
    headers = await staff(office)
    created = await client.post(f"/v1/offices/{office}/plans", headers=headers, json={"date": day, "time_limit_s": 1})
    assert created.status == 202, await created.text()
    plan_id = (await created.json())["plan_id"]
    await PlanWorker(redis).run(burst=True)
    got = await (await client.get(f"/v1/offices/{office}/plans/{plan_id}", headers=headers)).json()
    assert got["status"] == "done", got
    return got

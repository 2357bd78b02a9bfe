"""A shop disputes a delivered parcel's money: the amount is held (a scheduled remittance holding it is held too),
a second dispute is a 409, an operator resolves it (API or CLI) with a correction posting, the remittance is
released, and each change reaches the shop's feed and webhooks."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import orjson

from kernel.store import keys
from money import ledger
from money.rules import shop_payable
from tests.money.conftest import OP
from tests.money.facts import NET, add_remittance, ago, post_parcel, tn_of

ROOT = Path(__file__).resolve().parents[2]


async def _feed(redis, shop_id: int) -> list[dict]:
    return [orjson.loads(f[b"e"]) for _, f in await redis.xrange(keys.shop_feed(shop_id))
            if b"dispute_" in f[b"e"]]


async def _events_api(client, shop) -> list[tuple[str, int]]:
    """The shop's feed as its backend polls it (GET /v1/events)."""
    events = (await (await client.get("/v1/events?limit=1000", headers=shop.headers)).json())["data"]
    return [(e["type"], e["dispute_id"]) for e in events if "dispute_id" in e]


async def _status(pool, rid: str) -> tuple[str, str | None]:
    async with pool.acquire() as conn:
        r = await conn.fetchrow("SELECT status, hold_reason FROM remittances WHERE id = $1", rid)
    return r["status"], r["hold_reason"]


async def test_a_dispute_holds_a_scheduled_remittance_until_an_operator_resolves_it(mclient, shop, pool, redis):
    at = ago(20)
    async with pool.acquire() as conn:
        await post_parcel(conn, shop.id, tn_of(1), at)
        rid = await add_remittance(conn, shop.id, at.date(), "scheduled", [(tn_of(1), at)])
    before = await (await mclient.get("/v1/balance", headers=shop.headers)).json()
    assert (before["in_flight"], before["on_hold"]) == (NET, 0)
    body = {"tracking_number": tn_of(1).lower(), "kind": "wrong_amount", "claimed_amount": 990_000,
            "note": "مبلغ کمتر واریز شد"}
    headers = {**shop.headers, "Idempotency-Key": "dispute-1"}
    resp = await mclient.post("/v1/disputes", json=body, headers=headers)
    assert resp.status == 201, await resp.text()
    d = await resp.json()
    assert (d["status"], d["held_amount"], d["remittance_id"], d["kind_fa"]) == ("open", NET, rid, "مبلغ واریزی نادرست است")
    again = await mclient.post("/v1/disputes", json=body, headers=headers)  # the same request, replayed
    assert again.status == 201 and again.headers["Idempotent-Replayed"] == "true"
    second = await mclient.post("/v1/disputes", json=body, headers=shop.headers)
    assert second.status == 409 and (await second.json())["code"] == "dispute_already_open"
    assert await _status(pool, rid) == ("held", "open_dispute")
    held = await (await mclient.get("/v1/balance", headers=shop.headers)).json()
    assert (held["in_flight"], held["on_hold"], held["open_disputes"]) == (0, NET, 1)
    listed = await (await mclient.get("/v1/disputes?status=open", headers=shop.headers)).json()
    assert [x["dispute_id"] for x in listed["items"]] == [d["dispute_id"]]

    refused = await mclient.post(f"/v1/operator/disputes/{d['dispute_id']}/resolve", json={"outcome": "resolved"},
                                 headers=shop.headers)
    assert refused.status == 401
    resp = await mclient.post(f"/v1/operator/disputes/{d['dispute_id']}/resolve", headers=OP, json={
        "outcome": "resolved", "note": "کسری کارمزد برگشت داده شد", "by": "finance-ali", "adjustment": 10_000})
    assert resp.status == 200, await resp.text()
    done = await resp.json()
    assert (done["status"], done["released_remittance_id"]) == ("resolved", rid)
    assert done["adjustment"]["amount"] == 10_000 and done["resolved_by"] == "operator:finance-ali"
    assert await _status(pool, rid) == ("scheduled", None)
    async with pool.acquire() as conn:
        assert await ledger.balance(conn, shop_payable(shop.id)) == -NET - 10_000  # the post owes 10,000 more
    one = await (await mclient.get(f"/v1/disputes/{d['dispute_id']}", headers=shop.headers)).json()
    assert one["status_fa"] == "پذیرفته و حل شد"
    closed = await mclient.post(f"/v1/operator/disputes/{d['dispute_id']}/resolve", headers=OP,
                                json={"outcome": "rejected", "note": "x", "by": "y"})
    assert closed.status == 409 and (await closed.json())["code"] == "dispute_closed"
    events = await _feed(redis, shop.id)
    assert [(e["type"], e["status"], e["tracking_number"]) for e in events] == [
        ("dispute_opened", "open", tn_of(1)), ("dispute_resolved", "resolved", tn_of(1))]
    assert await _events_api(mclient, shop) == [("dispute_opened", d["dispute_id"]),
                                                ("dispute_resolved", d["dispute_id"])]


async def test_only_the_shop_s_own_delivered_parcel_is_disputed(mclient, shop, make_shop, pool):
    async with pool.acquire() as conn:
        await post_parcel(conn, shop.id, tn_of(2), ago(1))
    other = await make_shop("other")
    resp = await mclient.post("/v1/disputes", json={"tracking_number": tn_of(2), "kind": "not_remitted"},
                              headers=other.headers)
    assert resp.status == 404 and (await resp.json())["code"] == "dispute_parcel_not_found"
    bad = await mclient.post("/v1/disputes", json={"tracking_number": "12", "kind": "lost", "claimed_amount": -1},
                             headers=shop.headers)
    problem = await bad.json()
    assert bad.status == 422 and {e["field"] for e in problem["errors"]} == {"tracking_number", "kind",
                                                                           "claimed_amount"}
    assert all(e["message_fa"] for e in problem["errors"])
    resp = await mclient.post("/v1/disputes", json={"tracking_number": tn_of(2), "kind": "not_remitted"},
                              headers=shop.headers)
    d = await resp.json()
    assert resp.status == 201 and d["held_amount"] == NET and d["remittance_id"] is None
    assert (await mclient.get(f"/v1/disputes/{d['dispute_id']}", headers=other.headers)).status == 404
    b = await (await mclient.get("/v1/balance", headers=shop.headers)).json()
    assert (b["on_hold"], b["pending"], b["due_now"]) == (NET, 0, 0)


async def test_an_operator_resolves_from_the_command_line(mclient, shop, pool, pg_dsn, store_url, redis):
    async with pool.acquire() as conn:
        await post_parcel(conn, shop.id, tn_of(3), ago(5))
    d = await (await mclient.post("/v1/disputes", json={"tracking_number": tn_of(3), "kind": "not_remitted"},
                                  headers=shop.headers)).json()
    env = {**os.environ, "DATABASE_URL": pg_dsn, "REDIS_URL": store_url}
    out = subprocess.run([sys.executable, "-m", "gateway", "disputes", "resolve", "--id", str(d["dispute_id"]),
                          "--outcome", "rejected", "--note", "واریز در حوالهٔ بعدی است", "--by", "finance-sara"],
                         env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    done = json.loads(out.stdout)
    assert (done["status"], done["resolved_by"], done["adjustment"]) == ("rejected", "operator:finance-sara", None)
    assert [e["type"] for e in await _feed(redis, shop.id)] == ["dispute_opened", "dispute_resolved"]
    listed = subprocess.run([sys.executable, "-m", "gateway", "disputes", "list", "--status", "open"], env=env,
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert json.loads(listed.stdout)["items"] == []


async def test_racing_disputes_on_one_parcel_open_exactly_one(mclient, shop, pool):
    async with pool.acquire() as conn:
        await post_parcel(conn, shop.id, tn_of(4), ago(2))
    body = {"tracking_number": tn_of(4), "kind": "not_remitted"}
    answers = await asyncio.gather(*(mclient.post("/v1/disputes", json=body, headers=shop.headers) for _ in range(6)))
    assert sorted(a.status for a in answers) == [201] + [409] * 5
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM disputes WHERE tracking_number = $1", tn_of(4)) == 1

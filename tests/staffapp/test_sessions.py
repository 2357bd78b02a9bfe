"""Sign-in by one-time code, device sessions, and tracking accepting them with the same office rules."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import orjson

from kernel.postal.offices import load_registry
from kernel.store import keys
from kernel.store.keys import parcel_history
from staffapp import sessions
from tests.staffapp.conftest import OFFICE_A, OFFICE_B
from tests.tracking.conftest import scan

ROOT = Path(__file__).resolve().parents[2]


async def _history(redis, shop, tn: str) -> list[dict]:
    return [orjson.loads(e) for e in parcel_history(await redis.hgetall(keys.parcel(shop.id, tn)))]


async def test_a_supervisor_issues_a_code_that_signs_in_once(client, make_member):
    boss, postman, other_boss = (await make_member(OFFICE_A, "supervisor"), await make_member(OFFICE_A),
                                 await make_member(OFFICE_B, "supervisor"))
    url = f"/v1/offices/{OFFICE_A}/staff/{postman.staff_id}/sign-in-codes"
    assert (await client.post(url, headers=postman.bearer)).status == 403  # not a supervisor
    refused = await client.post(url, headers=other_boss.bearer)  # a supervisor of another office
    assert refused.status == 403 and (await refused.json())["code"] == "not_office_supervisor"
    resp = await client.post(url, headers=boss.bearer)
    assert resp.status == 201
    code = (await resp.json())["code"]
    assert len(code) == 8 and code.isdigit()

    signed = await client.post("/staff/api/sign-in", json={"staff_id": postman.staff_id, "code": code})
    assert signed.status == 201
    cookie = signed.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    me = await signed.json()
    assert me["office"] == OFFICE_A and me["staff_id"] == postman.staff_id and len(me["csrf_token"]) >= 24
    again = await client.post("/staff/api/sign-in", json={"staff_id": postman.staff_id, "code": code})
    assert again.status == 401 and (await again.json())["code"] == "sign_in_code_invalid"  # single use


async def test_codes_are_stored_hashed_and_die_after_five_wrong_tries(client, redis, make_member):
    postman = await make_member(OFFICE_A)
    code = (await sessions.issue_code(redis, load_registry(),
                                      OFFICE_A, postman.staff_id, 600))["code"]
    stored = await redis.hgetall(keys.staff_sign_in_code(postman.staff_id))
    assert code.encode() not in b"".join(stored.values())
    assert 0 < await redis.ttl(keys.staff_sign_in_code(postman.staff_id)) <= 600
    wrong = "00000000" if code != "00000000" else "11111111"
    for _ in range(sessions.CODE_ATTEMPTS):
        resp = await client.post("/staff/api/sign-in", json={"staff_id": postman.staff_id, "code": wrong})
        assert resp.status == 401
    late = await client.post("/staff/api/sign-in", json={"staff_id": postman.staff_id, "code": code})
    assert late.status == 401  # the right code, too late: it was destroyed


async def test_failed_sign_ins_are_limited_per_address(aiohttp_client, store_url, tmp_path, redis, make_member):
    from gateway.web_app import create_app
    from kernel.settings import Config

    client = await aiohttp_client(create_app(Config(data_dir=tmp_path, access_log=False, staff_sign_in_failures=3),
                                             store_url))
    postman = await make_member(OFFICE_A)
    await redis.delete(keys.staff_sign_in_rate(sessions._client("127.0.0.1")))
    statuses = [(await client.post("/staff/api/sign-in", json={"staff_id": postman.staff_id,
                                                               "code": "12345678"})).status for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    code = (await sessions.issue_code(redis, load_registry(),
                                      OFFICE_A, postman.staff_id, 600))["code"]
    blocked = await client.post("/staff/api/sign-in", json={"staff_id": postman.staff_id, "code": code})
    assert blocked.status == 429 and "Retry-After" in blocked.headers
    assert "ورود" in (await blocked.json())["detail_fa"]
    await redis.delete(keys.staff_sign_in_rate(sessions._client("127.0.0.1")))


async def test_a_session_scans_with_its_csrf_token_and_only_for_its_office(client, redis, shop, book, make_member,
                                                                          sign_in):
    tn = await book(shop)  # delivered by OFFICE_B (Isfahan)
    a, b = await make_member(OFFICE_A), await make_member(OFFICE_B)
    cookie_a, csrf_a = await sign_in(a)
    body = scan(tn, "accepted", OFFICE_A, 0)
    no_csrf = await client.post("/v1/scans", json=body, headers=cookie_a)
    assert no_csrf.status == 403 and (await no_csrf.json())["code"] == "csrf_token_invalid"
    wrong = await client.post("/v1/scans", json=body, headers={**cookie_a, "X-CSRF-Token": "x" * 32})
    assert wrong.status == 403
    assert "accepted" not in [e["type"] for e in await _history(redis, shop, tn)]  # refused: nothing changed
    ok = await client.post("/v1/scans", json=body, headers={**cookie_a, "X-CSRF-Token": csrf_a})
    assert ok.status == 201, await ok.text()

    # Office A's session cannot scan at office B, nor do office B's delivery-side work at office A.
    at_b = await client.post("/v1/scans", json=scan(tn, "arrived_delivery_office", OFFICE_B, 1),
                             headers={**cookie_a, "X-CSRF-Token": csrf_a})
    assert at_b.status == 403 and (await at_b.json())["code"] == "office_not_allowed"
    for_b = await client.post("/v1/scans", json=scan(tn, "arrived_delivery_office", OFFICE_A, 1),
                              headers={**cookie_a, "X-CSRF-Token": csrf_a})
    assert for_b.status == 403 and (await for_b.json())["code"] == "scan_office_not_responsible"
    cookie_b, csrf_b = await sign_in(b)
    mine = await client.post("/v1/scans", json=scan(tn, "arrived_delivery_office", OFFICE_B, 2),
                             headers={**cookie_b, "X-CSRF-Token": csrf_b})
    assert mine.status == 201, await mine.text()
    # Plans: the same office rule through STAFF_AUTH (reading needs no CSRF token; it changes nothing).
    plan = await client.get(f"/v1/offices/{OFFICE_B}/plans/{'0' * 32}", headers=cookie_a)
    assert plan.status == 403 and (await plan.json())["code"] == "not_this_office"
    assert (await client.get(f"/v1/offices/{OFFICE_B}/plans/{'0' * 32}", headers=cookie_b)).status == 404


async def test_the_batch_api_keeps_each_scan_id_once(client, redis, shop, book, make_member, sign_in):
    tn1, tn2 = await book(shop), await book(shop)
    cookie, csrf = await sign_in(await make_member(OFFICE_A))
    scans = [scan(tn1, "accepted", OFFICE_A, 0), scan(tn2, "accepted", OFFICE_A, 0)]
    hdrs = {**cookie, "X-CSRF-Token": csrf}
    first, second = await asyncio.gather(client.post("/v1/scans/batch", json={"scans": scans}, headers=hdrs),
                                         client.post("/v1/scans/batch", json={"scans": scans}, headers=hdrs))
    bodies = [await first.json(), await second.json()]
    assert sorted((b["recorded"], b["duplicates"]) for b in bodies) == [(0, 2), (2, 0)]
    for tn in (tn1, tn2):
        assert [e["type"] for e in await _history(redis, shop, tn)].count("accepted") == 1


async def test_revoking_a_session_or_the_staff_member_ends_it_at_once(client, redis, shop, book, make_member,
                                                                      sign_in):
    boss, postman = await make_member(OFFICE_A, "supervisor"), await make_member(OFFICE_A)
    cookie, csrf = await sign_in(postman)
    assert (await client.get("/staff/api/me", headers=cookie)).status == 200
    listed = await client.get(f"/v1/offices/{OFFICE_A}/staff-sessions", headers=boss.bearer)
    mine = [s for s in (await listed.json())["data"] if s["staff_id"] == postman.staff_id]
    assert len(mine) == 1
    assert (await client.get(f"/v1/offices/{OFFICE_A}/staff-sessions", headers=postman.bearer)).status == 403
    gone = await client.delete(f"/v1/offices/{OFFICE_A}/staff-sessions/{mine[0]['session_id']}", headers=boss.bearer)
    assert gone.status == 204
    after = await client.post("/v1/scans", json=scan(await book(shop), "accepted", OFFICE_A, 0),
                              headers={**cookie, "X-CSRF-Token": csrf})
    assert after.status == 401 and (await after.json())["code"] == "staff_session_invalid"

    cookie, csrf = await sign_in(postman)
    await redis.hset(keys.staff(postman.staff_id), "status", "revoked")  # tracking.staff.revoke_staff
    assert (await client.get("/staff/api/me", headers=cookie)).status == 401


async def test_sign_out_needs_the_csrf_token_and_ends_the_session(client, make_member, sign_in):
    cookie, csrf = await sign_in(await make_member(OFFICE_A))
    assert (await client.post("/staff/api/sign-out", headers=cookie)).status == 403
    assert (await client.post("/staff/api/sign-out", headers={**cookie, "X-CSRF-Token": csrf})).status == 204
    assert (await client.get("/staff/api/me", headers=cookie)).status == 401


def test_the_cli_issues_a_code_as_json(store_url, tmp_path):
    made = asyncio.get_event_loop_policy().new_event_loop()
    try:
        boss = made.run_until_complete(_cli_member(store_url))
    finally:
        made.close()
    env = {**os.environ, "REDIS_URL": store_url, "BARID_DATA": str(tmp_path)}
    out = subprocess.run([sys.executable, "-m", "gateway", "staff", "issue-code", "--office", OFFICE_A,
                          "--staff", str(boss)], capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
    assert out.returncode == 0, out.stderr
    body = orjson.loads(out.stdout)
    assert body["staff_id"] == boss and body["office"] == OFFICE_A and len(body["code"]) == 8
    wrong = subprocess.run([sys.executable, "-m", "gateway", "staff", "issue-code", "--office", OFFICE_B,
                            "--staff", str(boss)], capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
    assert wrong.returncode == 1 and orjson.loads(wrong.stdout)["code"] == "staff_not_found"


async def _cli_member(store_url: str) -> int:
    from kernel.store.client import async_client
    from tracking.staff import create_staff

    redis = async_client(store_url)
    try:
        return (await create_staff(redis, load_registry(), OFFICE_A, "سرپرست"))["staff_id"]
    finally:
        await redis.aclose()


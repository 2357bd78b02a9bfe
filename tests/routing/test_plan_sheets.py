"""Each postman's route sheet opens from a signed, expiring link in a phone's browser, in Persian, with whom to call
and what to collect; tampered or expired links are refused, staff tokens still work."""

from __future__ import annotations

import base64
import hashlib
import random
import re
import time
from datetime import date, datetime

import pytest

from gateway.web_app import create_app
from kernel.postal.offices import load_registry
from kernel.postal.timeutil import IRAN_TIME
from kernel.settings import Config
from routing import jobs, sheet_links

from .office_flow import Staff, book, isfahan, move, plan_for, to_office

SECRET = "sheet-test-secret-0123456789"


@pytest.fixture
async def client(aiohttp_client, store_url, tmp_path):
    return await aiohttp_client(create_app(Config(data_dir=tmp_path, access_log=False, sheet_secret=SECRET),
                                           store_url))


async def _sheet_plan(client, shop, redis) -> tuple[Staff, dict, list[dict]]:
    """Two parcels at the Isfahan office, each to an address no other test uses (one stop each)."""
    staff = Staff(redis)
    office = load_registry().get("IFN-01")
    rng = random.Random()
    bodies = []
    for i, payment in enumerate(({"type": "cod", "goods_value": 12_000_000}, {"type": "prepaid"})):
        receiver = {"name": "زهرا کاظمی", "phone": "09131234567", "postal_code": "8138634561", "province": "اصفهان",
                    "city": "اصفهان", "address": "خیابان چهارباغ، کوچه ۵",
                    "location": {"lat": office.lat + rng.uniform(-0.002, 0.002),
                                 "lon": office.lon + rng.uniform(-0.002, 0.002)}}
        bodies.append(isfahan(i, receiver=receiver, payment=payment,
                              parcel={"weight_g": 1500, "declared_value": 5_000_000, "contents": "کتاب"}))
    docs = await book(client, shop, bodies)
    assert {d["delivering_office"] for d in docs} == {"IFN-01"}  # the nearest office, a few hundred metres off
    for doc in docs:
        await move(client, staff, doc["tracking_number"], to_office(doc))
    return staff, await plan_for(client, staff, redis, "IFN-01"), docs


async def test_the_signed_sheet_link_opens_without_a_token_and_reads_well_on_a_phone(client, shop, redis):
    _, record, docs = await _sheet_plan(client, shop, redis)
    cod_parcel = docs[0]["tracking_number"]
    postman = next(p for p in record["plan"]["postmen"] if cod_parcel in {t for s in p["stops"] for t in s["parcels"]})
    url = postman["sheet_url"]
    assert url.startswith(f"/v1/offices/IFN-01/plans/{record['plan_id']}/postmen/{postman['index']}/sheet?")
    assert postman["sheet_url_expires_at"] > datetime.now().isoformat()

    resp = await client.get(url)  # a browser: no Authorization header
    assert resp.status == 200, await resp.text()
    html = await resp.text()
    csp = resp.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp and "unsafe-inline" not in csp
    style = re.search(r"<style>(.*?)</style>", html, re.DOTALL).group(1)
    assert style_hash(style) in csp  # the page's only style is the one the policy allows
    assert "<script" not in html and " style=" not in html
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert "زهرا کاظمی" in html and "اصفهان" in html
    assert '<a href="tel:09131234567">۰۹۱۳۱۲۳۴۵۶۷</a>' in html
    assert "دریافت از گیرنده: ۱۲٬۰۰۰٬۰۰۰ ریال" in html
    assert "پس‌کرایه" not in html
    assert "۱٫۵" in html  # 1.5 kg with the Persian decimal separator
    assert not re.search(r"[۰-۹]\.[۰-۹]", html)  # no ASCII point between Persian digits
    assert resp.headers["Cache-Control"] == "private, no-store"


async def test_tampered_or_expired_sheet_links_are_refused_and_staff_tokens_still_work(client, shop, redis):
    staff, record, _ = await _sheet_plan(client, shop, redis)
    postman = record["plan"]["postmen"][0]
    path, query = postman["sheet_url"].split("?")
    exp, sig = (part.split("=", 1)[1] for part in query.split("&"))
    flipped = sig[:-2] + ("A" if sig[-2] != "A" else "B") + sig[-1]
    other_postman = path.replace(f"/postmen/{postman['index']}/", f"/postmen/{postman['index'] + 1}/")
    for url in (f"{path}?exp={exp}&sig={flipped}", f"{path}?exp={int(exp) + 3600}&sig={sig}",
                f"{other_postman}?exp={exp}&sig={sig}", f"{path}?exp={exp}", f"{path}?exp=soon&sig={sig}",
                path.replace("IFN-01", "THR-06") + f"?exp={exp}&sig={sig}"):
        resp = await client.get(url)
        body = await resp.json()
        assert resp.status == 403 and body["code"] == "sheet_link_invalid", (url, body)
        assert body["detail_fa"]
    past = int(time.time()) - 60
    expired = sheet_links.signed_url(SECRET.encode(), "IFN-01", record["plan_id"], postman["index"], past)
    resp = await client.get(expired)
    assert resp.status == 403 and (await resp.json())["code"] == "sheet_link_expired"
    assert (await client.get(path)).status == 401  # no link, no token
    resp = await client.get(path, headers=await staff("IFN-01"))
    assert resp.status == 200 and "Content-Security-Policy" in resp.headers


async def test_sheet_links_work_with_the_store_held_secret(app_client, shop, redis):
    """Without BARID_SHEET_SECRET every gateway process signs with one secret kept in the store."""
    _, record, _ = await _sheet_plan(app_client, shop, redis)
    url = record["plan"]["postmen"][0]["sheet_url"]
    assert await redis.get(sheet_links.SECRET_KEY)
    assert (await app_client.get(url)).status == 200


def test_links_expire_the_day_after_the_plan_and_within_the_plan_s_life():
    expires = sheet_links.expires_for(date(2030, 1, 1), None, jobs.PLAN_TTL_S)
    assert datetime.fromtimestamp(expires, IRAN_TIME).isoformat() == "2030-01-02T12:00:00+03:30"
    finished = "2029-12-01T00:00:00.000Z"
    capped = sheet_links.expires_for(date(2030, 1, 1), finished, jobs.PLAN_TTL_S)
    assert capped == int(datetime.fromisoformat("2029-12-01T00:00:00+00:00").timestamp()) + jobs.PLAN_TTL_S


def style_hash(style: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(style.encode()).digest()).decode() + "'"

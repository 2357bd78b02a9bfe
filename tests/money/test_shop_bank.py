"""A shop's payout account and legal identity: recorded by the operator, shown masked, and required (as the money
policy says) before the shop may book cash-on-delivery parcels."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kernel.store import keys
from money.accounts import set_bank, set_legal
from money.sheba import EXAMPLE_SHEBA, ShebaInvalid
from tests.conftest import shipment_body

ROOT = Path(__file__).resolve().parents[2]
PREPAID = {"type": "prepaid"}


async def test_cod_is_refused_until_the_shop_has_a_verified_sheba(app_client, make_shop, redis):
    shop = await make_shop("no-bank", bank=None)
    resp = await app_client.post("/v1/shipments", json=shipment_body(), headers=shop.headers)
    problem = await resp.json()
    assert resp.status == 422 and problem["code"] == "cod_requires_verified_sheba"
    assert "شبا" in problem["detail_fa"]
    assert not await redis.exists(keys.shop_status_index(shop.id, "pre_transit"))  # nothing was booked
    prepaid = await app_client.post("/v1/shipments", json={**shipment_body(), "payment": PREPAID},
                                    headers=shop.headers)
    assert prepaid.status == 201  # prepaid parcels need no payout account

    await set_bank(redis, shop.id, EXAMPLE_SHEBA, verified=False)  # recorded, not verified
    resp = await app_client.post("/v1/shipments", json=shipment_body(client_order_id="2"), headers=shop.headers)
    assert resp.status == 422 and (await resp.json())["code"] == "cod_requires_verified_sheba"

    await set_bank(redis, shop.id, EXAMPLE_SHEBA, verified=True)
    # At once, although the gateway caches shop profiles: a refusal is decided on the store's current record.
    resp = await app_client.post("/v1/shipments", json=shipment_body(client_order_id="3"), headers=shop.headers)
    assert resp.status == 201, await resp.text()


async def test_a_batch_refuses_only_its_cod_items(app_client, make_shop):
    shop = await make_shop("no-bank-batch", bank=None)
    body = {"shipments": [shipment_body(client_order_id="c1"),
                          {**shipment_body(client_order_id="p1"), "payment": PREPAID}]}
    resp = await app_client.post("/v1/shipments/batch", json=body, headers=shop.headers)
    out = await resp.json()
    assert resp.status == 200 and out["booked"] == 1
    cod, prepaid = out["results"]
    assert cod["status"] == 422 and cod["errors"][0]["code"] == "cod_requires_verified_sheba"
    assert prepaid["result"] == "booked"


async def test_the_shop_sees_its_account_masked(app_client, make_shop, redis):
    shop = await make_shop("masked")
    await set_legal(redis, shop.id, "individual", "0084575948", enamad_id="۱۲۳۴۵۶")
    resp = await app_client.get("/v1/shop", headers=shop.headers)
    me = await resp.json()
    assert resp.status == 200
    assert me["bank_account"] == {"sheba_masked": "IR11017" + "*" * 15 + "9001", "bank_code": "017",
                                  "bank": "Bank Melli Iran", "bank_fa": "بانک ملی ایران", "verified": True}
    assert me["legal"] == {"type": "individual", "national_id_masked": "*******948"}
    assert me["enamad_id"] == "123456" and me["cod_allowed"] is True
    assert EXAMPLE_SHEBA not in await resp.text() and "0084575948" not in await resp.text()


async def test_a_bad_sheba_changes_nothing(make_shop, redis):
    shop = await make_shop("keeps-its-account")
    before = await redis.hgetall(keys.shop(shop.id))
    for bad in ("IR110170000000123456789002", "DE89370400440532013000", "IR780990000000000000000123"):
        with pytest.raises(ShebaInvalid) as info:
            await set_bank(redis, shop.id, bad, verified=True)
        assert info.value.to_problem()["status"] == 422
    assert await redis.hgetall(keys.shop(shop.id)) == before


def test_the_cli_records_the_bank_and_the_legal_identity(store_url, tmp_path):
    env = {**os.environ, "REDIS_URL": store_url, "BARID_DATA": str(tmp_path)}

    def cli(*args: str, ok: bool = True) -> dict:
        out = subprocess.run([sys.executable, "-m", "gateway", *args], env=env, cwd=ROOT, capture_output=True,
                             text=True, timeout=60)
        assert (out.returncode == 0) == ok, out.stderr
        return json.loads(out.stdout)

    shop = cli("shops", "create", "--name", "بانک‌دار")
    assert shop["bank_account"] is None and shop["cod_allowed"] is False
    assert shop["cod_refusal"] == "cod_requires_verified_sheba"
    sid = str(shop["shop_id"])
    bad = cli("shops", "set-bank", "--shop", sid, "--sheba", "IR110170000000123456789002", ok=False)
    assert bad["code"] == "sheba_checksum" and bad["status"] == 422
    unverified = cli("shops", "set-bank", "--shop", sid, "--sheba", "IR11 0170 0000 0012 3456 7890 01")
    assert unverified["bank_account"]["verified"] is False and unverified["cod_allowed"] is False
    verified = cli("shops", "set-bank", "--shop", sid, "--sheba", EXAMPLE_SHEBA, "--verified")
    assert verified["bank_account"]["verified"] is True and verified["cod_allowed"] is True
    assert EXAMPLE_SHEBA not in json.dumps(verified)
    legal = cli("shops", "set-legal", "--shop", sid, "--type", "company", "--national-id", "14100012340",
                "--enamad-id", "778899", "--settlement-plan", "daily")
    assert legal["legal"] == {"type": "company", "national_id_masked": "********340"}
    assert legal["settlement_plan"] == "daily" and legal["enamad_id"] == "778899"
    bad_id = cli("shops", "set-legal", "--shop", sid, "--type", "individual", "--national-id", "0084575949",
                 ok=False)
    assert bad_id["code"] == "legal_id_invalid"
    listed = cli("shops", "list")
    assert listed[0]["bank_account"]["sheba_masked"].startswith("IR11017*")

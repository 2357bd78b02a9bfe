"""The operator's remittance routes over real HTTP: who may call them, and a run paid end to end."""

from __future__ import annotations

import hashlib

import pytest

from gateway.web_app import create_app
from kernel.settings import Config
from money import pain001
from tests.money.conftest import OFFICE
from tests.money.remit_flow import FAR, collected

TOKEN = "op_remittances-test-token"


@pytest.fixture
async def op_client(aiohttp_client, store_url: str, tmp_path, pg_dsn: str, pool):
    config = Config(data_dir=tmp_path, access_log=False, database_dsn=pg_dsn,
                    operator_token_sha256=frozenset({hashlib.sha256(TOKEN.encode()).hexdigest()}))
    return await aiohttp_client(create_app(config, store_url))


OP = {"Authorization": f"Bearer {TOKEN}"}


async def test_only_an_operator_token_opens_the_routes(op_client, shop, staff) -> None:
    calls = [("post", "/v1/operator/remittance-runs", {}), ("get", "/v1/operator/remittance-runs/1/payout-file", None),
             ("post", "/v1/operator/remittances/rem_x/bank-ref", {"bank_ref": "R1"}),
             ("post", "/v1/operator/remittances/rem_x/failed", {"reason": "x"}),
             ("get", "/v1/operator/remittances", None)]
    for method, path, body in calls:
        none = await getattr(op_client, method)(path, json=body)
        assert none.status == 401, path
        assert (await none.json())["code"] == "unauthorized"
        as_shop = await getattr(op_client, method)(path, json=body, headers=shop.headers)
        assert as_shop.status == 403 and (await as_shop.json())["code"] == "operator_only", path
        as_staff = await getattr(op_client, method)(path, json=body, headers=await staff(OFFICE))
        assert as_staff.status == 403, path
        wrong = await getattr(op_client, method)(path, json=body, headers={"Authorization": "Bearer op_nope"})
        assert wrong.status == 401, path
        problem = await wrong.json()
        assert problem["detail_fa"]


async def test_an_operator_runs_exports_and_records_the_bank_reference(op_client, client, shop, staff, worker,
                                                                       delivered, redis) -> None:
    await collected(delivered, client, staff, 1)
    await worker.drain()
    bad = await op_client.post("/v1/operator/remittance-runs", json={"as_of": "1405-13-40"}, headers=OP)
    assert bad.status == 422
    resp = await op_client.post("/v1/operator/remittance-runs", json={"as_of": FAR.isoformat()}, headers=OP)
    assert resp.status == 201, await resp.text()
    run = await resp.json()
    assert run["remittances"] == 1 and run["made_by"].startswith("operator:")

    resp = await op_client.get(f"/v1/operator/remittance-runs/{run['run_id']}/payout-file",
                               params={"format": "pain001"}, headers=OP)
    assert resp.status == 200 and resp.content_type == "application/xml"
    pain001.validate(await resp.read())
    listed = await (await op_client.get("/v1/operator/remittances", params={"shop": str(shop.id)},
                                        headers=OP)).json()
    (rem,) = listed
    assert rem["status"] == "sent"
    path = f"/v1/operator/remittances/{rem['remittance_id']}"
    assert (await op_client.post(path + "/bank-ref", json={"bank_ref": " "}, headers=OP)).status == 422
    paid = await op_client.post(path + "/bank-ref", json={"bank_ref": "PAYA-1"}, headers=OP)
    assert paid.status == 200, await paid.text()
    body = await paid.json()
    assert body["status"] == "paid" and body["event_id"] and body["posting_id"]
    refused = await op_client.post(path + "/failed", json={"reason": "late"}, headers=OP)
    assert refused.status == 409 and (await refused.json())["code"] == "remittance_transition_invalid"
    missing = await op_client.post("/v1/operator/remittances/rem_none/bank-ref", json={"bank_ref": "A"}, headers=OP)
    assert missing.status == 404
    empty = await op_client.get("/v1/operator/remittance-runs/999999/payout-file", headers=OP)
    assert empty.status == 404 and (await empty.json())["code"] == "remittance_run_not_found"

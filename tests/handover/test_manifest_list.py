"""The shop's manifest listing: newest first, its own manifests only, each with its PDF link and no parcel rows."""

from __future__ import annotations

from urllib.parse import urlsplit

from tests.conftest import shipment_body


async def _manifest(client, shop, n: int) -> dict:
    tns = []
    for _ in range(n):
        resp = await client.post("/v1/shipments", json=shipment_body(), headers=shop.headers)
        assert resp.status == 201, await resp.text()
        tns.append((await resp.json())["tracking_number"])
    resp = await client.post("/v1/manifests", json={"tracking_numbers": tns}, headers=shop.headers)
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def test_the_shop_lists_its_manifests_newest_first_with_their_pdf(app_client, shop, make_shop):
    first, second = await _manifest(app_client, shop, 1), await _manifest(app_client, shop, 2)
    other = await make_shop()
    await _manifest(app_client, other, 1)

    resp = await app_client.get("/v1/manifests?limit=2", headers=shop.headers)
    assert resp.status == 200, await resp.text()
    listed = (await resp.json())["data"]
    assert [m["manifest_id"] for m in listed] == [second["manifest_id"], first["manifest_id"]]
    assert [m["count"] for m in listed] == [2, 1] and all(m["status"] == "open" for m in listed)
    assert "parcels" not in listed[0] and listed[0]["pdf"].endswith(f"/v1/manifests/{second['manifest_id']}/pdf")
    pdf = await app_client.get(urlsplit(listed[0]["pdf"]).path, headers=shop.headers)
    assert pdf.status == 200 and (await pdf.read())[:5] == b"%PDF-"

    one = await app_client.get("/v1/manifests?limit=1", headers=shop.headers)
    assert [m["manifest_id"] for m in (await one.json())["data"]] == [second["manifest_id"]]
    bad = await app_client.get("/v1/manifests?limit=0", headers=shop.headers)
    assert bad.status == 422 and (await bad.json())["errors"][0]["field"] == "limit"
    assert (await app_client.get("/v1/manifests")).status == 401
